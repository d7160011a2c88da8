// A return type by name that is not `()` under it: the same message, at the type.
type Outcome = std::io::Result<()>;

#[atexit::handler]
fn flush() -> Outcome {
    Ok(())
}

#[atexit::handler]
async fn send() -> Outcome {
    Ok(())
}

fn main() {}

#[atexit::handler]
async fn flush() -> std::io::Result<()> {
    Ok(())
}

fn main() {}

#[atexit::handler]
fn flush()
where
    u8: Copy,
{
}

fn main() {}

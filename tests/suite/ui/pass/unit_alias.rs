// A return type that is `()` under another name is accepted: the check is
// the type checker's, not a look at the tokens.
type Unit = ();

#[atexit::handler]
fn flush() -> Unit {}

#[atexit::handler]
async fn send() -> Unit {}

fn main() {
    assert_eq!(atexit::unregister(flush), 1);
    assert_eq!(atexit::unregister(send), 1);
}

/// Registers a function with arguments to run at exit; Python's
/// `atexit.register(func, *args)`.
///
/// `register!(func, a, b)` calls `func(a, b)` at exit and returns a
/// [`Handle`](crate::Handle). Unlike a closure, the registration remembers
/// `func`, so [`unregister(func)`](crate::unregister) removes it, whatever its
/// arguments. The arguments are evaluated now and moved into the registry
/// (they must be `Send + 'static`); up to twelve are supported. `func` may be
/// a fn item, a fn pointer or a closure.
///
/// ```
/// # extern crate atexit_core as atexit;
/// fn my_cleanup(name: &str) {
///     println!("my_cleanup({name})");
/// }
///
/// atexit::register!(my_cleanup, "first");
/// atexit::register!(my_cleanup, "second");
/// atexit::register!(my_cleanup, "third");
/// // At exit: my_cleanup(third), my_cleanup(second), my_cleanup(first).
///
/// fn save(path: std::path::PathBuf, lines: Vec<String>) {
///     let _ = std::fs::write(path, lines.join("\n"));
/// }
/// let handle = atexit::register!(save, std::env::temp_dir().join("atexit-doc"), vec![]);
/// assert_eq!(atexit::unregister(my_cleanup), 3);
/// handle.unregister();
/// ```
#[macro_export]
macro_rules! register {
    ($func:expr $(, $arg:expr)* $(,)?) => {
        $crate::__private::register_with_args($func, ($($arg,)*))
    };
}

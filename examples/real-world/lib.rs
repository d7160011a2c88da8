//! The `atexit-real-world` package holds examples, not code: see its
//! `examples/` (each one's docs say the problem it solves) and `tests/`.

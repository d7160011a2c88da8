//! The `atexit-suite` package holds tests and benchmarks, not code: its targets
//! are `ui.rs` (compile errors, trybuild), `model.rs` (the registry against a
//! model, proptest), `scenarios/` (programs run as processes, libtest-mimic)
//! and the benchmarks in `benches/` (criterion).

//! No build step: this script exists because Cargo accepts the `links` key
//! (which refuses two copies of this crate in one binary) only with one.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}

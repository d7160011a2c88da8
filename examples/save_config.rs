//! The program's settings, saved as JSON when it ends, however it ends: the
//! handler reads them from a `static`, so the latest values are written.
//! (The JSON is written by hand to keep the example free of dependencies;
//! a real program would use `serde_json`.)
//!
//! ```python
//! import atexit, json
//!
//! config = {"theme": "dark", "font_size": 12}
//!
//! def save_config():
//!     with open("config.json", "w") as f:
//!         json.dump(config, f)
//!
//! atexit.register(save_config)
//! config["font_size"] = 14
//! ```
//!
//! ```text
//! $ cargo run --example save_config -- /tmp/config.json
//! Config saved to /tmp/config.json
//! $ cat /tmp/config.json
//! {"theme": "dark", "font_size": 14}
//! ```

use std::path::PathBuf;
use std::sync::Mutex;

struct Config {
    theme: String,
    font_size: u32,
}

impl Config {
    fn to_json(&self) -> String {
        format!(
            "{{\"theme\": {}, \"font_size\": {}}}",
            json_string(&self.theme),
            self.font_size
        )
    }
}

/// A JSON string literal: quotes, backslashes and control characters escaped.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

static CONFIG: Mutex<Option<Config>> = Mutex::new(None);

fn save_config(path: PathBuf) {
    let guard = CONFIG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(config) = guard.as_ref() {
        match std::fs::write(&path, config.to_json()) {
            Ok(()) => println!("Config saved to {}", path.display()),
            Err(error) => eprintln!("cannot save {}: {error}", path.display()),
        }
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("config.json"));
    *CONFIG.lock().unwrap() = Some(Config {
        theme: "dark".to_string(),
        font_size: 12,
    });
    atexit::register!(save_config, path);
    // Changed after the registration: the handler saves the latest value.
    CONFIG.lock().unwrap().as_mut().unwrap().font_size = 14;
}

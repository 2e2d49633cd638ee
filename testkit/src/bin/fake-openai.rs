//! The fake OpenAI Responses API as a program, for clients in other languages.
//!
//! ```text
//! fake-openai SCRIPT.json
//! ```
//!
//! SCRIPT.json is the list of model turns to answer with, in order: each
//! `{"text": "..."}` or `{"function_call": {"name": "...", "arguments": "{...}"}}` (the
//! arguments as a JSON string, as the API sends them). The first line printed is
//! `listening on http://127.0.0.1:PORT/v1`, the second `api key: KEY`; the fake validates
//! requests as the library's fake does, and stops on SIGTERM, ctrl-c, or when its standard
//! input closes.

use std::process::ExitCode;

use bighub_testkit::fake_openai::{FakeOpenAi, Turn};
use serde_json::Value;
use tokio::io::AsyncReadExt;

fn turns(script: &Value) -> Result<Vec<Turn>, String> {
    let items = script
        .as_array()
        .ok_or("the script is a JSON list of turns")?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            if let Some(text) = item.get("text").and_then(Value::as_str) {
                return Ok(Turn::text(text));
            }
            let call = item.get("function_call").ok_or(format!(
                "turn {i}: expected {{\"text\"}} or {{\"function_call\"}}"
            ))?;
            let name = call["name"]
                .as_str()
                .ok_or(format!("turn {i}: function_call.name is a string"))?;
            let arguments = call["arguments"].as_str().ok_or(format!(
                "turn {i}: function_call.arguments is a JSON string"
            ))?;
            Ok(Turn::function_call(name, arguments))
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: fake-openai SCRIPT.json");
        return ExitCode::from(2);
    };
    let script = match std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {path}: {e}"))
        .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| format!("{path}: {e}")))
        .and_then(|v| turns(&v))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("fake-openai: {e}");
            return ExitCode::from(1);
        }
    };
    let fake = match FakeOpenAi::start().await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-openai: {e}");
            return ExitCode::from(1);
        }
    };
    for turn in script {
        fake.push(turn);
    }
    println!("listening on {}", fake.base_url());
    println!("api key: {}", fake.api_key());
    let stdin_closed = async {
        let mut sink = [0u8; 256];
        let mut stdin = tokio::io::stdin();
        while matches!(stdin.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let term = async {
        #[cfg(unix)]
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
        () = stdin_closed => {}
    }
    eprintln!("fake-openai: {} requests served", fake.request_count());
    ExitCode::SUCCESS
}

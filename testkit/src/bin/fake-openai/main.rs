//! The fake OpenAI Responses API as a program, for trying clients (in any language)
//! without OpenAI.
//!
//! ```text
//! fake-openai [--repeat] [--until-killed] [--port PORT] [--api-key KEY] SCRIPT.json
//! ```
//!
//! It answers `POST /v1/responses` from a script of model turns (the format: `--help`, or
//! [`script_file::FORMAT`]), validating every request as the library's fake does. The
//! first line printed is `listening on http://127.0.0.1:PORT/v1`, the second
//! `api key: KEY`. It stops on SIGTERM or ctrl-c, and when its standard input closes unless
//! `--until-killed` is given.

mod script_file;

use std::path::PathBuf;
use std::process::ExitCode;

use bighub_testkit::fake_openai::{DEFAULT_API_KEY, FakeOpenAi};
use clap::Parser;
use serde_json::Value;
use tokio::io::AsyncReadExt;

/// A validating fake of the OpenAI Responses API on 127.0.0.1, answering from a script.
///
/// Point a client at the printed base URL (OPENAI_BASE_URL) with the printed key
/// (OPENAI_API_KEY). Requests are checked as the real API checks them (bearer key, body
/// shape, strict tool schemas, stateless replay, every tool call paired with its output);
/// a rejected request gets the API's error and uses no turn.
#[derive(Debug, Parser)]
#[command(name = "fake-openai", after_help = script_file::FORMAT)]
struct Args {
    /// The script of model turns (see below).
    script: PathBuf,
    /// Replay the script as one conversation: a request that opens a conversation (only
    /// user, system or developer messages) gets the first turn again, and so does the
    /// request after the last turn; so every conversation, one at a time, gets the same
    /// turns. Without it, each turn answers once, and requests past the script get the text
    /// "(fake OpenAI: no scripted turn left)".
    #[arg(long, visible_alias = "loop")]
    repeat: bool,
    /// Run until SIGTERM or ctrl-c, whatever happens to standard input (for running it in
    /// the background, e.g. `fake-openai --until-killed turns.json &`). Without it, it also
    /// stops when its standard input closes.
    #[arg(long)]
    until_killed: bool,
    /// The port to listen on, on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The API key clients must send as `Authorization: Bearer KEY`.
    #[arg(long, default_value = DEFAULT_API_KEY)]
    api_key: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = Args::parse();
    let path = args.script.display().to_string();
    let script = match std::fs::read_to_string(&args.script)
        .map_err(|e| format!("cannot read {path}: {e}"))
        .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| format!("{path}: {e}")))
        .and_then(|v| script_file::turns(&v).map_err(|e| format!("{path}: {e}")))
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("fake-openai: {e}");
            return ExitCode::from(1);
        }
    };
    let fake = match FakeOpenAi::builder()
        .api_key(args.api_key)
        .port(args.port)
        .script(script)
        .repeat_script(args.repeat)
        .start()
        .await
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fake-openai: {e}");
            return ExitCode::from(1);
        }
    };
    println!("listening on {}", fake.base_url());
    println!("api key: {}", fake.api_key());
    let until_killed = args.until_killed;
    let stdin_closed = async move {
        if until_killed {
            std::future::pending::<()>().await;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use bighub_testkit::fake_openai::EXHAUSTED_REPLY_TEXT;
    use clap::CommandFactory;

    #[test]
    fn the_help_quotes_what_the_fake_answers_past_the_script() {
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains(EXHAUSTED_REPLY_TEXT), "{help}");
    }
}

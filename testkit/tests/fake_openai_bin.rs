//! The `fake-openai` program: a scripted turn served to a plain HTTP client, and a stop
//! when its standard input closes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_its_script_and_stops_when_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("turns.json");
    std::fs::write(
        &script,
        r#"[{"function_call": {"name": "grant_access", "arguments": "{\"user_id\":\"alice\"}"}},
            {"text": "done"}]"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-openai"))
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut first, mut second) = (String::new(), String::new());
    out.read_line(&mut first).unwrap();
    out.read_line(&mut second).unwrap();
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let key = second.trim().strip_prefix("api key: ").unwrap().to_owned();

    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/responses"))
        .bearer_auth(&key)
        .json(
            &serde_json::json!({"model": "gpt-5.5", "input": "grant alice", "tools": [{
            "type": "function", "name": "grant_access", "strict": true,
            "parameters": {"type": "object", "properties": {"user_id": {"type": "string"}},
                           "required": ["user_id"], "additionalProperties": false}}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["output"][0]["type"], "function_call", "{answer}");
    assert_eq!(answer["output"][0]["name"], "grant_access");

    drop(child.stdin.take());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
}

//! The `fake-openai` program: a scripted turn served to a plain HTTP client, several calls
//! in one turn, a replayed script, its help, and how it stops (standard input closing, or
//! only a signal with `--until-killed`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Starts the program with `args` and returns it with its base URL and API key.
fn start(args: &[&str], stdin: Stdio) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-openai"))
        .args(args)
        .stdin(stdin)
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
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    let key = second.trim().strip_prefix("api key: ").unwrap().to_owned();
    (child, base, key)
}

fn write_script(dir: &Path, script: &str) -> String {
    let path = dir.join("turns.json");
    std::fs::write(&path, script).unwrap();
    path.display().to_string()
}

fn grant_tool() -> Value {
    json!({"type": "function", "name": "grant_access", "strict": true,
           "parameters": {"type": "object", "properties": {"user_id": {"type": "string"}},
                          "required": ["user_id"], "additionalProperties": false}})
}

async fn post(base: &str, key: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{base}/responses"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

/// Stops the child with SIGTERM (as a user's `kill` would) and returns whether it exited 0.
async fn terminate(child: Child) -> bool {
    let pid = child.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    wait(child).await
}

async fn wait(mut child: Child) -> bool {
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap()
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_its_script_and_stops_when_stdin_closes() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(
        dir.path(),
        r#"[{"function_call": {"name": "grant_access", "arguments": "{\"user_id\":\"alice\"}"}},
            {"text": "done"}]"#,
    );
    let (mut child, base, key) = start(&[&script], Stdio::piped());
    let answer = post(
        &base,
        &key,
        &json!({"model": "gpt-5.5", "input": "grant alice", "tools": [grant_tool()]}),
    )
    .await;
    assert_eq!(answer["output"][0]["type"], "function_call", "{answer}");
    assert_eq!(answer["output"][0]["name"], "grant_access");

    drop(child.stdin.take());
    assert!(wait(child).await);
}

#[test]
fn help_prints_usage_and_the_script_format() {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_fake-openai"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Usage: fake-openai"), "{text}");
    for word in ["--repeat", "--until-killed", "--port", "\"function_calls\""] {
        assert!(text.contains(word), "{word} in {text}");
    }
    // No file named --help was looked for.
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("cannot read"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_holds_several_calls_and_each_needs_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(
        dir.path(),
        r#"[{"text": "Granting both.", "function_calls": [
                {"name": "grant_access", "arguments": {"user_id": "alice"}},
                {"name": "grant_access", "arguments": "{\"user_id\":\"bob\"}", "call_id": "call_bob"}]},
            {"text": "done"}]"#,
    );
    let (mut child, base, key) = start(&[&script], Stdio::piped());
    let first = post(
        &base,
        &key,
        &json!({"model": "gpt-5.5", "input": "grant both", "tools": [grant_tool()], "store": false}),
    )
    .await;
    let output = first["output"].as_array().unwrap();
    let kinds: Vec<&str> = output.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["message", "function_call", "function_call"],
        "{first}"
    );
    assert_eq!(output[1]["arguments"], r#"{"user_id":"alice"}"#);
    assert_eq!(output[2]["call_id"], "call_bob");

    // Still validating: answering one call of two is refused, as the real API refuses it.
    let mut input = vec![json!({"role": "user", "content": "grant both"})];
    input.extend(output.iter().cloned());
    input.push(
        json!({"type": "function_call_output", "call_id": output[1]["call_id"], "output": "ok"}),
    );
    let refused = post(
        &base,
        &key,
        &json!({"model": "gpt-5.5", "input": input, "tools": [grant_tool()], "store": false}),
    )
    .await;
    assert_eq!(
        refused["error"]["type"], "invalid_request_error",
        "{refused}"
    );

    input.push(json!({"type": "function_call_output", "call_id": "call_bob", "output": "ok"}));
    let done = post(
        &base,
        &key,
        &json!({"model": "gpt-5.5", "input": input, "tools": [grant_tool()], "store": false}),
    )
    .await;
    assert_eq!(done["output"][0]["content"][0]["text"], "done", "{done}");
    drop(child.stdin.take());
    assert!(wait(child).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_script_starts_over_for_the_next_conversation() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(
        dir.path(),
        r#"[{"function_call": {"name": "grant_access", "arguments": {"user_id": "alice"}}},
            {"text": "done"}]"#,
    );
    let (mut child, base, key) = start(&["--repeat", &script], Stdio::piped());
    for conversation in 1..=3 {
        let first = post(
            &base,
            &key,
            &json!({"model": "gpt-5.5", "input": "grant alice", "tools": [grant_tool()], "store": false}),
        )
        .await;
        assert_eq!(
            first["output"][0]["type"], "function_call",
            "conversation {conversation}: {first}"
        );
        let call = &first["output"][0];
        let input = json!([
            {"role": "user", "content": "grant alice"},
            call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "granted"}
        ]);
        let second = post(
            &base,
            &key,
            &json!({"model": "gpt-5.5", "input": input, "tools": [grant_tool()], "store": false}),
        )
        .await;
        assert_eq!(
            second["output"][0]["content"][0]["text"], "done",
            "conversation {conversation}: {second}"
        );
    }
    // A conversation that stops after the call (a run paused for approval, say): the
    // next one still starts at the first turn.
    for _ in 0..2 {
        let first = post(
            &base,
            &key,
            &json!({"model": "gpt-5.5", "input": "grant alice", "tools": [grant_tool()], "store": false}),
        )
        .await;
        assert_eq!(first["output"][0]["type"], "function_call", "{first}");
    }
    drop(child.stdin.take());
    assert!(wait(child).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_killed_it_runs_detached_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path(), r#"[{"text": "still here"}]"#);
    // Standard input is closed from the start, as for a program started with `&`.
    let (mut child, base, key) = start(&["--until-killed", "--loop", &script], Stdio::null());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(child.try_wait().unwrap().is_none(), "it exited");
    let answer = post(&base, &key, &json!({"model": "gpt-5.5", "input": "hello"})).await;
    assert_eq!(
        answer["output"][0]["content"][0]["text"], "still here",
        "{answer}"
    );
    assert!(terminate(child).await, "SIGTERM stops it cleanly");
}

/// The script the README shows under `<!-- readme-fake-openai: turns.json -->`.
fn readme_script() -> &'static str {
    include_str!("../../../README.md")
        .split_once("<!-- readme-fake-openai: turns.json -->")
        .and_then(|(_, rest)| rest.split_once("```json\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the README shows a fake-openai script")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_script_answers_the_quickstart_call() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path(), readme_script());
    let (mut child, base, key) = start(&["--repeat", &script], Stdio::piped());
    let tool = json!({"type": "function", "name": "grant_access", "strict": true,
        "parameters": {"type": "object", "additionalProperties": false,
            "required": ["user_id", "group", "duration"],
            "properties": {"user_id": {"type": "string"}, "group": {"type": "string"},
                           "duration": {"type": "string"}}}});
    let answer = post(
        &base,
        &key,
        &json!({"model": "gpt-5.5", "input": "Grant Alice temporary Okta admin access for 48h",
                "tools": [tool], "store": false}),
    )
    .await;
    assert_eq!(answer["output"][0]["name"], "grant_access", "{answer}");
    let arguments: Value =
        serde_json::from_str(answer["output"][0]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["duration"], "48h");
    drop(child.stdin.take());
    assert!(wait(child).await);
}

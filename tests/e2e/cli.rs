//! The command line: token creation and data-directory locking.

use serde_json::json;

use crate::harness::{Server, run_cli, workdir};

#[test]
fn token_create_prints_the_token_last_and_refuses_while_a_server_runs() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (code, _, stderr) =
        run_cli(dir.path(), &["token", "create", "--role", "agent", "--name", "eve", "--data-dir", data]);
    assert_ne!(code, 0);
    assert!(stderr.contains("in use"), "a clear error, not a hang: {stderr}");

    let (code, _, stderr) = run_cli(dir.path(), &["serve", "--bind", "127.0.0.1:0", "--data-dir", data]);
    assert_ne!(code, 0, "a second server on the same data dir must fail");
    assert!(stderr.contains("in use"), "{stderr}");

    server.stop();
    let (code, stdout, stderr) =
        run_cli(dir.path(), &["token", "create", "--role", "agent", "--name", "eve", "--data-dir", data]);
    assert_eq!(code, 0, "{stderr}");
    let token = stdout.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("fd_"), "{stdout}");

    let server = Server::start(dir.path());
    let (status, case) = server.call_as(
        Some(&token),
        "POST",
        "/api/v1/cases",
        Some(&json!({"subject": "via CLI token", "customer": {"email": "k@example.com"}})),
    );
    assert_eq!(status, 201, "{case}");
    let (status, _) =
        server.call_as(Some(&token), "POST", "/api/v1/tokens", Some(&json!({"name": "x", "role": "admin"})));
    assert_eq!(status, 403, "the CLI token has the role it was given");

    let (code, _, stderr) =
        run_cli(dir.path(), &["token", "create", "--role", "wizard", "--name", "z", "--data-dir", data]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn unknown_config_keys_stop_the_server_with_file_line_and_key() {
    let dir = workdir();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[server]\nbind = \"127.0.0.1:0\"\nmax_body_byte = 10\n").unwrap();
    let (code, _, stderr) = run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("bad.toml") && stderr.contains("line 3") && stderr.contains("max_body_byte"), "{stderr}");
}

//! End-to-end behaviour over an in-process server with real framing on a duplex pipe and a fake
//! provider: stalled requests never block the rest, bad input never breaks a document, and the
//! text that reaches the model is exactly the editor's text.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use spark_lsp::lsp::ServerOptions;
use spark_tests::fake_provider::FakeProvider;
use spark_tests::lsp_client::LspClient;

async fn started(provider: Arc<FakeProvider>, encodings: &[&str]) -> anyhow::Result<LspClient> {
    let mut client = LspClient::in_process(ServerOptions {
        provider: Some(provider),
        ..ServerOptions::default()
    });
    client
        .initialize(
            json!({"general": {"positionEncodings": encodings}}),
            Value::Null,
        )
        .await?;
    Ok(client)
}

fn inline_params(uri: &str, line: u32, character: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}, "context": {"triggerKind": 2}})
}

fn change(uri: &str, version: i32, range: Option<[u32; 4]>, text: &str) -> Value {
    let mut event = json!({"text": text});
    if let Some([l0, c0, l1, c1]) = range {
        event["range"] =
            json!({"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}});
    }
    json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [event]})
}

/// Asks for a completion at the end of the document and returns the text the model was shown.
async fn model_view(
    client: &mut LspClient,
    provider: &FakeProvider,
    uri: &str,
) -> anyhow::Result<String> {
    let response = client
        .request("textDocument/inlineCompletion", inline_params(uri, 999, 0))
        .await?;
    anyhow::ensure!(response.get("error").is_none(), "{response}");
    let (prefix, suffix) = provider
        .last_fim()
        .ok_or_else(|| anyhow::anyhow!("no model request"))?;
    Ok(prefix + &suffix)
}

/// Waits (bounded) until `condition` holds; not a timing assertion, a wait for an effect.
async fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

#[tokio::test]
async fn stalled_requests_never_delay_changes_cancels_or_other_requests() -> anyhow::Result<()> {
    let provider = FakeProvider::stalling_on("# stall", "ok");
    let mut client = started(provider.clone(), &["utf-16"]).await?;
    let stalled_uris: Vec<String> = (0..4).map(|i| format!("file:///w/s{i}.py")).collect();
    for uri in &stalled_uris {
        client.open(uri, "python", 1, "# stall\nx = ").await?;
    }
    client
        .open("file:///w/live.py", "python", 1, "y = 1\n")
        .await?;
    // Four requests stall on the model: as many as tower-lsp-server's default concurrency.
    let mut stalled = Vec::new();
    for uri in &stalled_uris {
        stalled.push(
            client
                .start_request("textDocument/inlineCompletion", inline_params(uri, 1, 4))
                .await?,
        );
    }
    assert!(
        eventually(|| provider.live_streams() == 4).await,
        "four model calls in flight"
    );

    // A didChange and a new request are processed at once regardless.
    client
        .notify(
            "textDocument/didChange",
            change("file:///w/live.py", 2, Some([1, 0, 1, 0]), "z = 2\n"),
        )
        .await?;
    let response = client
        .request(
            "textDocument/inlineCompletion",
            inline_params("file:///w/live.py", 2, 0),
        )
        .await?;
    assert_eq!(response["result"][0]["insertText"], "ok", "{response}");
    assert_eq!(
        provider.last_fim().map(|(p, s)| p + &s),
        Some("y = 1\nz = 2\n".into())
    );

    // The new request took a slot: the oldest stalled request was superseded and answered empty.
    let oldest = client.response(stalled[0]).await?;
    assert_eq!(oldest["result"], Value::Null, "{oldest}");

    // $/cancelRequest answers the request as cancelled and drops its model call.
    client
        .notify("$/cancelRequest", json!({"id": stalled[1]}))
        .await?;
    let cancelled = client.response(stalled[1]).await?;
    assert_eq!(cancelled["error"]["code"], -32800, "{cancelled}");

    // A newer request for the same document supersedes the older one (Helix never cancels).
    let newer = client
        .start_request(
            "textDocument/inlineCompletion",
            inline_params(&stalled_uris[2], 1, 3),
        )
        .await?;
    let superseded = client.response(stalled[2]).await?;
    assert_eq!(superseded["result"], Value::Null, "{superseded}");

    // The superseded model calls let go of the model. The cancelled request's call streams on
    // into the cache (VS Code cancels on every keystroke, then asks again where typing-through
    // can use it): the two pending requests' calls and that one remain.
    assert!(
        eventually(|| provider.live_streams() == 3).await,
        "live: {}",
        provider.live_streams()
    );
    client
        .notify("$/cancelRequest", json!({"id": newer}))
        .await?;
    client
        .notify("$/cancelRequest", json!({"id": stalled[3]}))
        .await?;
    // Closing the documents drops their cached suggestions, which stops the calls.
    for uri in &stalled_uris {
        client
            .notify(
                "textDocument/didClose",
                json!({"textDocument": {"uri": uri}}),
            )
            .await?;
    }
    assert!(
        eventually(|| provider.live_streams() == 0).await,
        "every stream released"
    );
    client.assert_clean_framing()?;
    Ok(())
}

#[tokio::test]
async fn bad_input_is_answered_or_logged_and_the_server_keeps_serving() -> anyhow::Result<()> {
    let provider = FakeProvider::answering("ok");
    let mut client = started(provider.clone(), &["utf-16"]).await?;
    let uri = "file:///w/m.ts";
    client.open(uri, "typescript", 1, "let a = '😀';\n").await?;

    // Malformed params: a notification is dropped, a request gets an error.
    client
        .notify("textDocument/didChange", json!({"textDocument": 5}))
        .await?;
    let bad = client
        .request(
            "textDocument/inlineCompletion",
            json!({"position": "nowhere"}),
        )
        .await?;
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let bad = client
        .request("textDocument/completion", json!([1, 2]))
        .await?;
    assert!(bad.get("error").is_some(), "{bad}");
    // Unknown documents: ignored changes, empty answers.
    client
        .notify(
            "textDocument/didChange",
            change("file:///w/nope.ts", 2, None, "x"),
        )
        .await?;
    let unknown = client
        .request(
            "textDocument/inlineCompletion",
            inline_params("file:///w/nope.ts", 0, 0),
        )
        .await?;
    assert_eq!(unknown["result"], Value::Null);
    client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": "file:///w/nope.ts"}}),
        )
        .await?;
    // A position past the end is clamped to the end.
    client
        .notify(
            "textDocument/didChange",
            change(uri, 2, Some([40, 3, 41, 0]), "// end"),
        )
        .await?;
    // A column past the line end is clamped to the line end; one inside the emoji snaps back.
    client
        .notify(
            "textDocument/didChange",
            change(uri, 3, Some([0, 99, 0, 99]), " "),
        )
        .await?;
    client
        .notify(
            "textDocument/didChange",
            change(uri, 4, Some([0, 10, 0, 10]), "!"),
        )
        .await?;
    // A version going backwards is rejected.
    client
        .notify(
            "textDocument/didChange",
            change(uri, 2, Some([0, 0, 0, 0]), "STALE"),
        )
        .await?;
    assert_eq!(
        model_view(&mut client, &provider, uri).await?,
        "let a = '!😀'; \n// end"
    );

    // A 3 MB minified one-line file: tracked, edited at its end, and the server keeps serving.
    let big = format!("var x=[{}];", "1,".repeat(1_500_000));
    client
        .open("file:///w/big.min.js", "javascript", 1, &big)
        .await?;
    let end = u32::try_from(big.len())?;
    client
        .notify(
            "textDocument/didChange",
            change("file:///w/big.min.js", 2, Some([0, end, 0, end]), "\n"),
        )
        .await?;
    let view = model_view(&mut client, &provider, "file:///w/big.min.js").await?;
    assert!(
        view.ends_with("1,1,];\n"),
        "the window ends at the document's end"
    );
    // The unchanged document is answered from the cache, with no model call.
    let asked = provider
        .requests
        .lock()
        .map(|r| r.len())
        .unwrap_or_default();
    let again = client
        .request("textDocument/inlineCompletion", inline_params(uri, 999, 0))
        .await?;
    assert_eq!(again["result"][0]["insertText"], "ok", "{again}");
    assert_eq!(
        provider
            .requests
            .lock()
            .map(|r| r.len())
            .unwrap_or_default(),
        asked
    );
    client.assert_clean_framing()?;
    Ok(())
}

/// The text the model sees after a real editor's edits, in each negotiated encoding.
#[tokio::test]
async fn recorded_sessions_leave_the_editors_text() -> anyhow::Result<()> {
    let cases = [
        ("helix-25.07.1.jsonl", "def add(a, b):\n    return a + b\n"),
        ("neovim-0.11.4.jsonl", "def add(a, b):\n    r😀\n"),
    ];
    for (name, expected) in cases {
        let provider = FakeProvider::answering("ok");
        let mut client = LspClient::in_process(ServerOptions {
            provider: Some(provider.clone()),
            ..ServerOptions::default()
        });
        for message in spark_tests::recorded_session(name)? {
            if message["method"] == "shutdown" {
                break;
            }
            client.send(&message).await?;
            if let Some(id) = message["id"].as_i64() {
                let response = client.response(id).await?;
                assert!(response.get("error").is_none(), "{name}: {response}");
            }
        }
        assert_eq!(
            model_view(&mut client, &provider, "file:///project/probe.py").await?,
            expected,
            "{name}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn helix_gets_the_suggestion_as_an_incomplete_completion_item() -> anyhow::Result<()> {
    let provider = FakeProvider::answering(" + a + b\n");
    let mut client = started(provider, &["utf-8", "utf-32", "utf-16"]).await?;
    client
        .open("file:///w/p.py", "python", 0, "def add(a, b):\n    é\n")
        .await?;
    let params = json!({"textDocument": {"uri": "file:///w/p.py"}, "position": {"line": 1, "character": 6}, "context": {"triggerKind": 1}});
    let response = client.request("textDocument/completion", params).await?;
    let list = &response["result"];
    assert_eq!(list["isIncomplete"], true);
    assert_eq!(list["items"][0]["label"], "+ a + b");
    // Post-processing dropped the newline: the line already ends after the cursor.
    assert_eq!(list["items"][0]["textEdit"]["newText"], " + a + b");
    // utf-8 columns: `é` is two bytes.
    assert_eq!(
        list["items"][0]["textEdit"]["range"]["start"],
        json!({"line": 1, "character": 6})
    );
    Ok(())
}

#[tokio::test]
async fn invalid_settings_are_named_to_the_user_and_defaults_kept() -> anyhow::Result<()> {
    let mut client = LspClient::in_process(ServerOptions::default());
    let options = json!({"provider": {"kind": "carrier-pigeon", "model": "m"}});
    client.initialize(json!({}), options).await?;
    let message = client.notification("window/showMessage").await?;
    assert!(
        message["message"]
            .as_str()
            .unwrap_or("")
            .contains("spark.provider.kind"),
        "{message}"
    );
    // Pushed settings, wrapped in a `spark` section, are validated the same way.
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"spark": {"syntax": {"maxTrees": "many"}}}}),
        )
        .await?;
    let message = client.notification("window/showMessage").await?;
    assert!(
        message["message"]
            .as_str()
            .unwrap_or("")
            .contains("spark.syntax.maxTrees"),
        "{message}"
    );
    client.assert_clean_framing()?;
    Ok(())
}

#[tokio::test]
async fn provider_failures_are_told_once_per_class_and_serving_goes_on() -> anyhow::Result<()> {
    let provider = FakeProvider::failing(spark_lsp::providers::ProviderError::Auth("401".into()));
    let mut client = started(provider, &["utf-16"]).await?;
    client.open("file:///w/k.py", "python", 1, "x = ").await?;
    for _ in 0..3 {
        let response = client
            .request(
                "textDocument/inlineCompletion",
                inline_params("file:///w/k.py", 0, 4),
            )
            .await?;
        assert_eq!(response["result"], Value::Null, "{response}");
    }
    let message = client.notification("window/showMessage").await?;
    assert!(
        message["message"]
            .as_str()
            .unwrap_or("")
            .contains("authentication failed"),
        "{message}"
    );
    // Only one message for the three failures.
    client.request("shutdown", Value::Null).await?;
    let shown = client
        .received
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .count();
    assert_eq!(shown, 0, "no second message: {:?}", client.received);
    Ok(())
}

/// After edits with non-ASCII text in each position encoding, the model gets exactly the text
/// before and after the cursor.
#[tokio::test]
async fn the_model_gets_the_exact_prefix_and_suffix_after_non_ascii_edits() -> anyhow::Result<()> {
    // Columns per encoding: after `    let s = "` (13), `é` is 2/1/1 units, `😀` 4/2/1, `日本` 6/2/2.
    for (encoding, after_emoji, e_end, after_cjk) in [
        ("utf-8", 19, 15, 24),
        ("utf-16", 16, 14, 18),
        ("utf-32", 15, 14, 17),
    ] {
        let provider = FakeProvider::answering("ok");
        let mut client = started(provider.clone(), &[encoding]).await?;
        let uri = "file:///w/s.rs";
        client
            .open(uri, "rust", 1, "fn main() {\n    let s = \"é😀\";\n}\n")
            .await?;
        let edits = [
            change(uri, 2, Some([1, after_emoji, 1, after_emoji]), "日本"),
            change(uri, 3, Some([1, 13, 1, e_end]), "e"),
            change(uri, 4, Some([2, 0, 2, 0]), "    x(\n"),
        ];
        for edit in edits {
            client.notify("textDocument/didChange", edit).await?;
        }
        let response = client
            .request(
                "textDocument/inlineCompletion",
                inline_params(uri, 1, after_cjk),
            )
            .await?;
        assert_eq!(
            response["result"][0]["insertText"], "ok",
            "{encoding}: {response}"
        );
        assert_eq!(
            provider.last_fim(),
            Some((
                "fn main() {\n    let s = \"e😀日本".to_owned(),
                "\";\n    x(\n}\n".to_owned()
            )),
            "{encoding}"
        );
    }
    Ok(())
}

/// A suggestion that would raise the syntax-error count where it goes is never shown; the same
/// answer where it parses is.
#[tokio::test]
async fn a_suggestion_that_breaks_the_parse_is_not_shown() -> anyhow::Result<()> {
    let provider = FakeProvider::answering("total = a +");
    let mut client = started(provider, &["utf-16"]).await?;
    client
        .open("file:///w/broken.py", "python", 0, "def f(a):\n    \n")
        .await?;
    client
        .open("file:///w/comment.py", "python", 0, "def f(a):\n    # \n")
        .await?;
    let broken = client
        .request(
            "textDocument/inlineCompletion",
            inline_params("file:///w/broken.py", 1, 4),
        )
        .await?;
    assert!(
        broken["result"].is_null() || broken["result"]["items"] == json!([]),
        "{broken}"
    );
    let in_comment = client
        .request(
            "textDocument/inlineCompletion",
            inline_params("file:///w/comment.py", 1, 6),
        )
        .await?;
    let items = &in_comment["result"];
    let items = items.get("items").unwrap_or(items);
    assert_eq!(items[0]["insertText"], "total = a +", "{in_comment}");
    Ok(())
}

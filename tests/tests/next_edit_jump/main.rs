//! Next edits that go where the next edit is, through the real binary against the reference
//! model server with scripted answers: a rename's remaining use, a forwarded diagnostic, the
//! model's own "next location" answer, nothing when there is no place (and no extra model
//! call), the Helix code action naming the line, and the chain after an accept that finds the
//! following edit before the editor asks.
//!
//! The scripted answers are regions: the unchanged region ("no edit", [`no_edit`]) or the
//! region with the fix, cut from the text by the server's own `editable_region`, so they stay
//! what the model is asked about.

mod helix;
mod support;

use serde_json::{Value, json};
use support::{
    URI, accept_command, actions, at, calls_once, change, edits, fixed_region, model_calls,
    model_server, next_edit, next_edit_action, no_edit, replaced_on, source, spark,
};

#[tokio::test]
async fn a_rename_jumps_to_the_remaining_use_and_helix_sees_its_line() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = source(40, &[30]);
    client.open(URI, "rust", 1, &text).await?;
    // Before anything is known, the action does not name a line (and listing calls no model).
    let listed = actions(&mut client, at(1, 9)).await?;
    assert_eq!(next_edit_action(&listed)["title"], "Apply suggested edit");

    // The user renames `value` to `v` on line 1.
    change(&mut client, 2, (at(1, 8), at(1, 13)), "v").await?;
    let text = replaced_on(&text, 1, "value", "v");
    // Around the cursor nothing is left to do; at the use on line 30 the model finishes it.
    server.push_answer(no_edit(&text, 1, 9));
    let fixed = replaced_on(&text, 30, "value", "v");
    server.push_answer(fixed_region(&text, 30, 6, &fixed));
    let result = next_edit(&mut client, 2, at(1, 9)).await?;
    assert_eq!(edits(&result), [(30, 6, 11, "v".to_owned())], "{result}");
    assert_eq!(result["jump"], true);
    let location = json!({"uri": URI, "range": {"start": at(30, 6), "end": at(30, 11)}});
    assert_eq!(result["location"], location);
    let calls = model_calls(&server);
    assert_eq!(calls.len(), 2);
    assert!(calls[1].contains("g(<|cursor|>value);"), "{}", calls[1]);

    // Helix lists the action again at the cursor: the title names the line (1-based), and
    // resolving it gives the edit there and the accept command, from the same answer.
    let listed = actions(&mut client, at(1, 9)).await?;
    let action = next_edit_action(&listed);
    assert_eq!(action["title"], "Apply suggested edit at line 31");
    let resolved = client.request("codeAction/resolve", action).await?;
    let resolved = &resolved["result"];
    let edit = &resolved["edit"]["documentChanges"][0]["edits"][0];
    assert_eq!(
        edit["range"],
        json!({"start": at(30, 6), "end": at(30, 11)})
    );
    assert_eq!(edit["newText"], "v");
    assert_eq!(resolved["command"]["command"], "spark.didAcceptNextEdit");
    // Asking again at the same version and place joins the answer: no model call.
    let again = next_edit(&mut client, 2, at(2, 0)).await?;
    assert_eq!(edits(&again), edits(&result));
    assert_eq!(model_calls(&server).len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_forwarded_diagnostic_twelve_lines_down_gets_the_suggestion() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let broken = "    let s = \"😀\"; let n = undefined_name;\n";
    let mut lines: Vec<String> = source(40, &[])
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect();
    lines[17] = broken.to_owned();
    let text = lines.concat();
    client.open(URI, "rust", 1, &text).await?;
    // Another server's error on line 17, forwarded by the client in UTF-16 columns (the emoji
    // is two units): `undefined_name` starts at character 26.
    let diagnostic = json!({"range": {"start": at(17, 26), "end": at(17, 40)}, "severity": 1,
        "message": "cannot find value `undefined_name` in this scope"});
    let hint =
        json!({"range": {"start": at(8, 4), "end": at(8, 5)}, "severity": 4, "message": "hint"});
    let params =
        json!({"textDocument": {"uri": URI}, "diagnostics": [diagnostic, hint, {"bogus": 1}]});
    client.notify("spark/didChangeDiagnostics", params).await?;

    server.push_answer(no_edit(&text, 5, 4));
    let byte_column = "    let s = \"😀\"; let n = ".len();
    let fixed = replaced_on(&text, 17, "undefined_name", "s.len()");
    server.push_answer(fixed_region(&text, 17, byte_column, &fixed));
    let result = next_edit(&mut client, 1, at(5, 4)).await?;
    assert_eq!(
        edits(&result),
        [(17, 26, 40, "s.len()".to_owned())],
        "{result}"
    );
    assert_eq!(result["jump"], true);
    let calls = model_calls(&server);
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].contains("let n = <|cursor|>undefined_name;"),
        "{}",
        calls[1]
    );
    Ok(())
}

#[tokio::test]
async fn a_diagnostic_a_code_action_listed_is_a_place_too() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = replaced_on(&source(40, &[]), 17, "h();", "h(x);");
    client.open(URI, "rust", 1, &text).await?;
    // VS Code lists code actions on line 17 with the error there in the context.
    let error = json!({"range": {"start": at(17, 6), "end": at(17, 7)}, "severity": 1,
        "message": "cannot find value `x`"});
    let range = json!({"start": at(17, 6), "end": at(17, 6)});
    let params =
        json!({"textDocument": {"uri": URI}, "range": range, "context": {"diagnostics": [error]}});
    client.request("textDocument/codeAction", params).await?;
    // Later, at line 5, the region holds nothing: the listed error is where the edit is.
    server.push_answer(no_edit(&text, 5, 4));
    let fixed = replaced_on(&text, 17, "h(x);", "h(1);");
    server.push_answer(fixed_region(&text, 17, 6, &fixed));
    let result = next_edit(&mut client, 1, at(5, 4)).await?;
    assert_eq!(edits(&result), [(17, 6, 7, "1".to_owned())], "{result}");
    assert_eq!(result["jump"], true);
    Ok(())
}

#[tokio::test]
async fn no_place_to_go_is_an_empty_answer_and_no_extra_model_call() -> anyhow::Result<()> {
    // Without the model's location question (turned off, or skipped while the eagerness is
    // low), a request with no place to go costs its own region's call only.
    for settings in [json!({"modelJump": false}), json!({"eagerness": "low"})] {
        let server = model_server().await?;
        let mut client = spark(&server, settings.clone()).await?;
        let text = source(40, &[30]);
        client.open(URI, "rust", 1, &text).await?;
        // Only a hint, far away: no place. The cursor's region is asked once.
        let hint = json!({"range": {"start": at(30, 4), "end": at(30, 5)}, "severity": 4,
            "message": "hint"});
        let params = json!({"textDocument": {"uri": URI}, "diagnostics": [hint]});
        client.notify("spark/didChangeDiagnostics", params).await?;
        server.push_answer(no_edit(&text, 1, 4));
        let result = next_edit(&mut client, 1, at(1, 4)).await?;
        assert_eq!(result, json!({"edits": []}), "{settings}");
        assert_eq!(model_calls(&server).len(), 1, "{settings}");
        let stats = client.request("spark/stats", Value::Null).await?;
        assert_eq!(stats["result"]["modelCalls"], 1, "{settings}: {stats}");
    }
    Ok(())
}

#[tokio::test]
async fn jumps_off_and_the_model_location_question() -> anyhow::Result<()> {
    // Jumps off: a rename's remaining use is not tried.
    let server = model_server().await?;
    let mut client = spark(&server, json!({"jumps": false})).await?;
    let text = source(40, &[30]);
    client.open(URI, "rust", 1, &text).await?;
    change(&mut client, 2, (at(1, 8), at(1, 13)), "v").await?;
    let text = replaced_on(&text, 1, "value", "v");
    server.push_answer(no_edit(&text, 1, 9));
    let result = next_edit(&mut client, 2, at(1, 9)).await?;
    assert_eq!(result, json!({"edits": []}));
    assert_eq!(model_calls(&server).len(), 1);

    // `modelJump` (the default): nothing local to try, so the model is asked where; it names
    // line 26 (1-based), and the next edit is asked there.
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = source(40, &[]);
    client.open(URI, "rust", 1, &text).await?;
    server.push_answer(no_edit(&text, 1, 4));
    server.push_answer("26");
    let fixed = replaced_on(&text, 25, "h();", "h(1);");
    server.push_answer(fixed_region(&text, 25, 4, &fixed));
    let result = next_edit(&mut client, 1, at(1, 4)).await?;
    assert_eq!(edits(&result), [(25, 6, 6, "1".to_owned())], "{result}");
    assert_eq!(result["jump"], true);
    let calls = model_calls(&server);
    assert_eq!(calls.len(), 3);
    assert!(calls[1].contains("Next edit location."), "{}", calls[1]);
    assert!(calls[1].contains("26:     h();"), "{}", calls[1]);
    Ok(())
}

#[tokio::test]
async fn after_an_accept_the_chain_finds_the_next_use_before_the_editor_asks() -> anyhow::Result<()>
{
    // The chain's places are the rename's; the model is not asked where (that is tested above).
    let server = model_server().await?;
    let mut client = spark(&server, json!({"modelJump": false})).await?;
    let text = source(60, &[30, 50]);
    client.open(URI, "rust", 1, &text).await?;
    change(&mut client, 2, (at(1, 8), at(1, 13)), "v").await?;
    let text = replaced_on(&text, 1, "value", "v");
    server.push_answer(no_edit(&text, 1, 9));
    let fixed = replaced_on(&text, 30, "value", "v");
    server.push_answer(fixed_region(&text, 30, 6, &fixed));
    let first = next_edit(&mut client, 2, at(1, 9)).await?;
    assert_eq!(edits(&first), [(30, 6, 11, "v".to_owned())], "{first}");

    // The editor applies the suggestion: a change that is exactly it, and no command (as Helix
    // applies a code action). Nothing is left around line 30; the chain jumps on to line 50.
    let text = replaced_on(&text, 30, "value", "v");
    server.push_answer(no_edit(&text, 30, 7));
    let fixed = replaced_on(&text, 50, "value", "v");
    server.push_answer(fixed_region(&text, 50, 6, &fixed));
    change(&mut client, 3, (at(30, 6), at(30, 11)), "v").await?;
    // The chain asks the model with no request from the editor.
    let calls = calls_once(&server, 4).await;
    assert!(calls[2].contains("g(v<|cursor|>);"), "{}", calls[2]);
    assert!(calls[3].contains("g(<|cursor|>value);"), "{}", calls[3]);
    // The command arriving late joins the chain: no call.
    client
        .request("workspace/executeCommand", accept_command())
        .await?;
    // The editor asks where its cursor is (after the accepted edit): the chain's answer, no
    // further call.
    let next = next_edit(&mut client, 3, at(30, 7)).await?;
    assert_eq!(edits(&next), [(50, 6, 11, "v".to_owned())], "{next}");
    assert_eq!(next["jump"], true);
    assert_eq!(model_calls(&server).len(), 4);
    // Helix, whose cursor stayed on line 1, is told where the chained edit is.
    let listed = actions(&mut client, at(1, 9)).await?;
    assert_eq!(
        next_edit_action(&listed)["title"],
        "Apply suggested edit at line 51"
    );

    // The second accept: the command first (its text not in the document yet, so it waits),
    // then the change. The chain asks once, after the accepted edit; nothing is left.
    let text = fixed;
    server.push_answer(no_edit(&text, 50, 7));
    client
        .request("workspace/executeCommand", accept_command())
        .await?;
    change(&mut client, 4, (at(50, 6), at(50, 11)), "v").await?;
    let calls = calls_once(&server, 5).await;
    assert!(calls[4].contains("g(v<|cursor|>);"), "{}", calls[4]);
    let last = next_edit(&mut client, 4, at(50, 7)).await?;
    assert_eq!(last, json!({"edits": []}));
    assert_eq!(model_calls(&server).len(), 5);
    Ok(())
}

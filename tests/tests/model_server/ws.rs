//! Responses WebSocket mode: event sequence, lanes, the connection-local cache, warm-up and
//! stream id validation.

use serde_json::{Value, json};
use spark_tests::model_server::{
    CostModel, Endpoint, Fault, ModelServer, ModelServerConfig, split_tokens,
};

use crate::support::*;

#[tokio::test]
async fn default_lane_event_sequence() {
    let server = start().await;
    let answer = "let total = a + b;";
    server.push_answer(answer);
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    ws_send(&mut ws, create("sum")).await;
    let events = ws_collect(&mut ws, 1).await;
    assert_eq!(
        types(&events),
        response_sequence(split_tokens(answer).len())
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], index);
        assert!(
            event.get("stream_id").is_none(),
            "default lane events carry no stream_id"
        );
    }
    assert_eq!(delta_text(&events), answer);
    let delta = &events[4];
    assert_eq!(delta["item_id"], events[2]["item"]["id"]);
    assert_eq!(
        (
            delta["output_index"].clone(),
            delta["content_index"].clone()
        ),
        (json!(0), json!(0))
    );
    let done = &events.last().unwrap()["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["usage"]["output_tokens"], split_tokens(answer).len());
    assert_eq!(done["usage"]["input_tokens_details"]["cached_tokens"], 0);
    let recorded = server.requests_for(Endpoint::ResponsesWebSocket);
    assert_eq!(
        (recorded.len(), recorded[0].body["input"].clone()),
        (1, json!("sum"))
    );
}

#[tokio::test]
async fn lanes_interleave_and_tag_events() {
    // A real decode rate, so both lanes are mid-stream at once.
    let cost = CostModel {
        decode_tps: 500.0,
        ..CostModel::instant()
    };
    let server = ModelServer::start(ModelServerConfig {
        cost,
        ..fast_config()
    })
    .await
    .unwrap();
    let long = "word ".repeat(60);
    server.push_answer(long.clone());
    server.push_answer(long.clone());
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    ws_send(&mut ws, with(create("a"), json!({"stream_id": "slot-1"}))).await;
    ws_send(&mut ws, with(create("b"), json!({"stream_id": "slot.2_x"}))).await;
    let events = ws_collect(&mut ws, 2).await;
    let lanes: Vec<&str> = events
        .iter()
        .map(|e| e["stream_id"].as_str().unwrap())
        .collect();
    let first_done = events.iter().position(is_terminal).unwrap();
    assert!(
        lanes[..first_done].contains(&"slot-1") && lanes[..first_done].contains(&"slot.2_x"),
        "interleaved"
    );
    for lane in ["slot-1", "slot.2_x"] {
        let own: Vec<Value> = events
            .iter()
            .filter(|e| e["stream_id"] == lane)
            .cloned()
            .collect();
        assert_eq!(types(&own).last(), Some(&"response.completed"));
        assert!(
            own.windows(2)
                .all(|w| w[0]["sequence_number"].as_u64() < w[1]["sequence_number"].as_u64())
        );
    }
    assert_eq!(
        (
            server.connections_accepted(),
            server.websocket_connections()
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn same_lane_is_fifo() {
    let server = start().await;
    server.push_answer("first answer");
    server.push_answer("second answer");
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    ws_send(&mut ws, with(create("1"), json!({"stream_id": "s"}))).await;
    ws_send(&mut ws, with(create("2"), json!({"stream_id": "s"}))).await;
    let events = ws_collect(&mut ws, 2).await;
    let split = events.iter().position(is_terminal).unwrap() + 1;
    assert_eq!(delta_text(&events[..split]), "first answer");
    assert_eq!(delta_text(&events[split..]), "second answer");
    assert_eq!(events[split]["type"], "response.created");
}

fn usage(event: &Value) -> (u64, u64) {
    let usage = &event["response"]["usage"];
    (
        usage["input_tokens"].as_u64().unwrap(),
        usage["input_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap(),
    )
}

#[tokio::test]
async fn previous_response_continuation_and_eviction() {
    let server = start().await;
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    server.push_answer("abcd efgh");
    ws_send(&mut ws, create("12345678")).await;
    let first = ws_collect(&mut ws, 1).await;
    let done = first.last().unwrap();
    let parent = done["response"]["id"].as_str().unwrap().to_owned();
    let context = done["response"]["usage"]["total_tokens"].as_u64().unwrap();
    ws_send(
        &mut ws,
        with(create("more"), json!({"previous_response_id": parent})),
    )
    .await;
    let second = ws_collect(&mut ws, 1).await;
    let (input, cached) = usage(second.last().unwrap());
    assert_eq!(cached, context, "the whole parent context is cached");
    assert_eq!(input, context + 1);
    let child = second.last().unwrap()["response"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The lane keeps only its latest response.
    ws_send(
        &mut ws,
        with(create("x"), json!({"previous_response_id": parent})),
    )
    .await;
    let error = ws_next(&mut ws).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["status"], 400);
    assert_eq!(error["error"]["code"], "previous_response_not_found");
    assert_eq!(error["error"]["param"], "previous_response_id");
    // A failed cross-lane fork keeps the parent; a failed same-lane continuation evicts it.
    server.push_fault(Fault::ServerError(500));
    ws_send(
        &mut ws,
        with(
            create("fork"),
            json!({"previous_response_id": child, "stream_id": "f"}),
        ),
    )
    .await;
    let failed_fork = ws_next(&mut ws).await;
    assert_eq!(
        (
            failed_fork["status"].clone(),
            failed_fork["stream_id"].clone()
        ),
        (json!(500), json!("f"))
    );
    server.push_fault(Fault::ServerError(500));
    ws_send(
        &mut ws,
        with(create("y"), json!({"previous_response_id": child})),
    )
    .await;
    assert_eq!(ws_next(&mut ws).await["status"], 500);
    ws_send(
        &mut ws,
        with(create("z"), json!({"previous_response_id": child})),
    )
    .await;
    assert_eq!(
        ws_next(&mut ws).await["error"]["code"],
        "previous_response_not_found"
    );
}

#[tokio::test]
async fn generate_false_warms_the_lane() {
    let server = start().await;
    server.push_answer("unused by the warm-up");
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    ws_send(
        &mut ws,
        with(
            create(&"context ".repeat(50)),
            json!({"generate": false, "stream_id": "w"}),
        ),
    )
    .await;
    let warm = ws_collect(&mut ws, 1).await;
    assert_eq!(
        types(&warm),
        [
            "response.created",
            "response.in_progress",
            "response.completed"
        ]
    );
    let done = &warm[2]["response"];
    assert_eq!(
        (
            done["output"].clone(),
            done["usage"]["output_tokens"].clone()
        ),
        (json!([]), json!(0))
    );
    let warmed = done["usage"]["input_tokens"].as_u64().unwrap();
    let id = done["id"].as_str().unwrap();
    ws_send(
        &mut ws,
        with(
            create("go"),
            json!({"previous_response_id": id, "stream_id": "w"}),
        ),
    )
    .await;
    let real = ws_collect(&mut ws, 1).await;
    assert_eq!(delta_text(&real), "unused by the warm-up");
    assert_eq!(usage(real.last().unwrap()).1, warmed);
}

#[tokio::test]
async fn stream_id_validation_and_limit() {
    let server = start().await;
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    for bad in [
        json!(""),
        json!("bad id!"),
        json!("x".repeat(257)),
        json!(7),
    ] {
        ws_send(&mut ws, with(create("x"), json!({"stream_id": bad}))).await;
        let error = ws_next(&mut ws).await;
        assert_eq!(
            (error["status"].clone(), error["error"]["code"].clone()),
            (json!(400), json!("invalid_stream_id"))
        );
    }
    for lane in 0..32 {
        ws_send(
            &mut ws,
            with(
                create("x"),
                json!({"stream_id": format!("lane{lane}"), "generate": false}),
            ),
        )
        .await;
    }
    ws_collect(&mut ws, 32).await;
    ws_send(&mut ws, with(create("x"), json!({"stream_id": "lane33"}))).await;
    let error = ws_next(&mut ws).await;
    assert_eq!(error["error"]["code"], "websocket_stream_limit_reached");
    assert_eq!(error["stream_id"], "lane33");
    // Existing lanes and the default lane still work.
    ws_send(
        &mut ws,
        with(
            create("x"),
            json!({"stream_id": "lane3", "generate": false}),
        ),
    )
    .await;
    assert_eq!(
        ws_collect(&mut ws, 1).await.last().unwrap()["type"],
        "response.completed"
    );
}

#[tokio::test]
async fn at_most_sixteen_responses_in_flight() {
    let cost = CostModel {
        decode_tps: 1000.0,
        ..CostModel::instant()
    };
    let server = ModelServer::start(ModelServerConfig {
        cost,
        ..fast_config()
    })
    .await
    .unwrap();
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    for lane in 0..20 {
        server.push_answer("tok ".repeat(10));
        ws_send(
            &mut ws,
            with(create("x"), json!({"stream_id": format!("l{lane}")})),
        )
        .await;
    }
    let events = ws_collect(&mut ws, 20).await;
    let (mut running, mut most) = (0i32, 0);
    for event in &events {
        match event["type"].as_str().unwrap() {
            "response.created" => running += 1,
            "response.completed" => running -= 1,
            other => assert!(!other.starts_with("error"), "{event}"),
        }
        most = most.max(running);
    }
    assert!(most <= 16, "{most} responses overlapped");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "response.completed")
            .count(),
        20
    );
}

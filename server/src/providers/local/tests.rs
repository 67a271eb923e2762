//! Provider `local` over the real SmolLM2-135M GGUF (`scripts/test` fetches it): the chat
//! template, streaming, cancellation by dropping the stream, and errors that stay errors.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use super::*;
use crate::providers::{ExtraFile, ModelInput, ModelRequest, Provider};

fn model_path() -> PathBuf {
    let path = std::env::var_os("SPARK_LOCAL_MODEL")
        .map(PathBuf::from)
        .or_else(default_model_path)
        .unwrap_or_default();
    assert!(
        path.is_file(),
        "the local model {} is missing: run scripts/fetch-model (scripts/test does)",
        path.display()
    );
    path
}

fn chat(query: &str, max_output_tokens: u32) -> ModelRequest {
    ModelRequest {
        instructions: "You are a concise assistant.".into(),
        input: ModelInput::Chat {
            context: String::new(),
            query: query.into(),
        },
        max_output_tokens,
        ..ModelRequest::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn chat_prompts_use_chatml_and_smollm2_has_no_fim() {
    let (header, _, tokenizer) = spark_local_model::open(&model_path()).expect("a usable GGUF");
    let template = Template::detect(&tokenizer, header.str("tokenizer.chat_template"));
    assert_eq!(template.fim, None);
    let (ids, heal) = template.render(&tokenizer, &chat("Say hi.", 8));
    assert!(heal.is_empty());
    assert_eq!(
        &ids[..1],
        [tokenizer.token("<|im_start|>").unwrap_or(u32::MAX)]
    );
    assert_eq!(
        tokenizer.decode(&ids),
        "<|im_start|>system\nYou are a concise assistant.<|im_end|>\n<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n"
    );
    // FIM input for a model without FIM tokens is the prefix alone, to continue: no chat
    // turns, no suffix, no other files (they would change the prompt's start every keystroke).
    let fim = ModelRequest {
        input: ModelInput::Fim {
            prefix: "// Path: src/main.rs\nfn main() {".into(),
            suffix: "}".into(),
            extra: vec![ExtraFile {
                path: "edit history".into(),
                text: "-a\n+b".into(),
            }],
        },
        ..ModelRequest::default()
    };
    // Its last token is taken back, to be healed.
    let (ids, heal) = template.render(&tokenizer, &fim);
    let mut whole = tokenizer.encode("// Path: src/main.rs\nfn main() {");
    let last = whole.pop().unwrap_or_default();
    assert_eq!((ids, heal), (whole, tokenizer.bytes(last)));
    // A raw-completion prompt (a next-edit model's own format) is the text as it is.
    let raw = ModelRequest {
        input: ModelInput::Completion {
            prompt: "<|file_sep|>updated/a.rs\n".into(),
        },
        ..ModelRequest::default()
    };
    let (ids, heal) = template.render(&tokenizer, &raw);
    assert_eq!(tokenizer.decode(&ids), "<|file_sep|>updated/a.rs\n");
    assert!(heal.is_empty());
}

#[test]
fn the_provider_streams_and_dropping_the_stream_stops_generation() {
    let local = Local::start(&model_path(), 2).expect("the local provider");
    assert!(local.wants_fim());
    let stats = local.stats();
    runtime().block_on(async {
        let mut stream = local.stream(chat("Write a long story about a robot.", 200));
        let mut text = String::new();
        for _ in 0..3 {
            match stream.next().await {
                Some(Ok(delta)) => text.push_str(&delta),
                other => panic!("expected a delta, got {other:?}"),
            }
        }
        assert!(!text.is_empty());
        let at_drop = stats.generated.load(Ordering::SeqCst);
        drop(stream);
        // The model thread serves one request at a time: once this one has answered, the
        // dropped one has stopped.
        let mut after = local.stream(chat("Hi", 1));
        while let Some(delta) = after.next().await {
            delta.expect("a delta");
        }
        let generated = stats.generated.load(Ordering::SeqCst);
        // One token for the second request, at most one more for the first after the drop.
        assert!(
            generated <= at_drop + 2,
            "{} tokens generated after the drop",
            generated - at_drop - 1
        );
    });
}

#[test]
fn a_newer_request_for_the_same_session_supersedes_a_queued_one() {
    let local = Local::start(&model_path(), 2).expect("the local provider");
    runtime().block_on(async {
        let mut request = chat("Tell me about the sea.", 40);
        request.session = Some("file:///a.rs".into());
        let mut first = local.stream(request.clone());
        let mut second = local.stream(request);
        // The first was superseded before or while it ran: it ends early, the second answers.
        while let Some(delta) = first.next().await {
            delta.expect("a delta");
        }
        let mut text = String::new();
        while let Some(delta) = second.next().await {
            text.push_str(&delta.expect("a delta"));
        }
        assert!(!text.is_empty());
    });
}

#[test]
fn a_bad_file_is_a_configuration_error() {
    let path = std::env::temp_dir().join(format!("spark-provider-{}-bad.gguf", std::process::id()));
    std::fs::write(&path, b"GGUF but not really").expect("a temp file");
    match Local::start(&path, 1) {
        Err(ProviderError::Config(message)) => assert!(message.contains("GGUF"), "{message}"),
        Err(other) => panic!("expected a configuration error, got {other:?}"),
        Ok(_) => panic!("a bad file was accepted"),
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_truncated_model_fails_its_requests_not_the_server() {
    let path = std::env::temp_dir().join(format!(
        "spark-provider-{}-truncated.gguf",
        std::process::id()
    ));
    let bytes = std::fs::read(model_path()).expect("the model");
    std::fs::write(&path, &bytes[..8 << 20]).expect("a temp file");
    let local = Local::start(&path, 1).expect("the header is intact");
    let message = runtime().block_on(async {
        let mut stream = local.stream(chat("Hi", 4));
        match stream.next().await {
            Some(Err(ProviderError::Config(message))) => message,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    });
    assert!(message.contains("truncated"), "{message}");
    let _ = std::fs::remove_file(path);
}

/// A completion through the provider: the prefix continued, its last token healed, so the
/// answer after `return ` is an expression, not another space.
#[test]
fn a_completion_continues_the_prefix() {
    let local = Local::start(&model_path(), 2).expect("the local provider");
    let request = ModelRequest {
        input: ModelInput::Fim {
            prefix: "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n    return "
                .into(),
            suffix: "\n".into(),
            extra: Vec::new(),
        },
        max_output_tokens: 6,
        ..ModelRequest::default()
    };
    let text = runtime().block_on(async {
        let mut stream = local.stream(request);
        let mut text = String::new();
        while let Some(delta) = stream.next().await {
            text.push_str(&delta.expect("a delta"));
        }
        text
    });
    // Without the healing SmolLM2 answers `0`.
    assert!(text.starts_with("a + b"), "{text:?}");
}

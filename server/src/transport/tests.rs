//! Unit tests of the transport: header blocks and message decoding, as tables.

use tower_lsp_server::jsonrpc::Id;

use super::header::{self, Headers};
use super::{Decoded, decode};

#[test]
fn header_blocks() {
    let ok = |length| {
        Ok(Headers {
            content_length: length,
            charset: Ok(()),
        })
    };
    let cases: &[(&str, Result<Headers, ()>)] = &[
        ("Content-Length: 12", ok(12)),
        ("content-length:12", ok(12)),
        ("CONTENT-LENGTH: \t7 ", ok(7)),
        (
            "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 3",
            ok(3),
        ),
        (
            "Content-Length: 3\r\ncontent-type: application/vscode-jsonrpc",
            ok(3),
        ),
        (
            "Content-Length: 3\r\nContent-Type: application/vscode-jsonrpc; charset=UTF8",
            ok(3),
        ),
        (
            "Content-Length: 3\r\nContent-Type: a/b; charset=\"utf-8\"",
            ok(3),
        ),
        ("Content-Length: 3\nX-Editor: eglot", ok(3)),
        ("Content-Length: 3\r\nContent-Length: 3", ok(3)),
        (
            "Content-Length: 3\r\nContent-Type: a/b; charset=latin1",
            Ok(Headers {
                content_length: 3,
                charset: Err("latin1".into()),
            }),
        ),
        ("Content-Length: 99999999999999999999999", ok(u64::MAX)),
        ("Content-Type: application/vscode-jsonrpc", Err(())),
        ("Content-Length: 12x", Err(())),
        ("Content-Length: -1", Err(())),
        ("Content-Length:", Err(())),
        ("Content-Length: 3\r\nContent-Length: 4", Err(())),
        ("garbage", Err(())),
        ("bad name: 1\r\nContent-Length: 3", Err(())),
        ("Content-Length: 12\r\n#Content-Length: 48", Err(())),
        ("Content-Length: 12\r\nX: yContent-Length: 48", Err(())),
        ("Content-Length: 12Content-Length: 48", Err(())),
    ];
    for (block, expected) in cases {
        let parsed = header::parse(block.as_bytes()).map_err(|_| ());
        assert_eq!(&parsed, expected, "{block:?}");
    }
}

#[test]
fn message_decoding() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"m","params":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    // (body, error code or 0 for a valid message, the id of the error reply)
    let cases: Vec<(Vec<u8>, i64, Id)> = vec![
        (
            br#"{"jsonrpc":"2.0","id":1,"method":"m","params":{}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":"a","method":"m"}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","params":[1],"extra":{"x":[true]}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":3,"result":null}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":3,"error":{"code":-1,"message":"no"}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"no","x":1}}"#.to_vec(),
            0,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":null,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":true,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":{"a":1},"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"m"}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (br#"{"id":7,"method":"m"}"#.to_vec(), -32600, Id::Number(7)),
        (
            br#"{"jsonrpc":"1.0","id":"s","method":"m"}"#.to_vec(),
            -32600,
            Id::String("s".into()),
        ),
        (
            br#"{"jsonrpc":2,"id":8,"method":"m"}"#.to_vec(),
            -32600,
            Id::Number(8),
        ),
        (
            br#"{"jsonrpc":"2.0","id":9,"method":5}"#.to_vec(),
            -32600,
            Id::Number(9),
        ),
        (
            br#"{"jsonrpc":"2.0","id":9,"id":10,"method":"m"}"#.to_vec(),
            -32600,
            Id::Number(10),
        ),
        (
            br#"{"jsonrpc":"2.0","id":9}"#.to_vec(),
            -32600,
            Id::Number(9),
        ),
        (
            br#"{"jsonrpc":"2.0","result":1}"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","id":9,"result":1,"error":{"code":1,"message":""}}"#.to_vec(),
            -32600,
            Id::Number(9),
        ),
        (
            br#"[{"jsonrpc":"2.0","id":1,"method":"m"}]"#.to_vec(),
            -32600,
            Id::Null,
        ),
        (b"[]".to_vec(), -32600, Id::Null),
        (b"42".to_vec(), -32600, Id::Null),
        (br#""text""#.to_vec(), -32600, Id::Null),
        (b"null".to_vec(), -32600, Id::Null),
        (
            b"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"a\":\"\xff\xfe\"}}".to_vec(),
            -32700,
            Id::Null,
        ),
        (
            b"{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"x\":\"\xc3\"}".to_vec(),
            -32700,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","params":{"a":"\ud800"}}"#.to_vec(),
            -32700,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m","unused":"\udc00x"}"#.to_vec(),
            -32700,
            Id::Null,
        ),
        (deep.into_bytes(), -32700, Id::Null),
        (
            br#"{"jsonrpc":"2.0","method":"m""#.to_vec(),
            -32700,
            Id::Null,
        ),
        (
            br#"{"jsonrpc":"2.0","method":"m"} x"#.to_vec(),
            -32700,
            Id::Null,
        ),
        (br#"[1,"#.to_vec(), -32700, Id::Null),
        (b"".to_vec(), -32700, Id::Null),
    ];
    for (body, code, id) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
        match decode(&body) {
            Decoded::Request(_) | Decoded::Response(_) => assert_eq!(code, 0, "{shown}"),
            Decoded::Invalid(reply) => {
                let error = reply.error().expect("an error reply");
                assert_eq!(error.code.code(), code, "{shown}: {}", error.message);
                assert_eq!(reply.id(), &id, "{shown}");
            }
        }
    }
}

#[test]
fn decoded_request_keeps_method_id_and_params() {
    let Decoded::Request(request) =
        decode(br#"{"params":{"a":[1,"\u00e9"]},"method":"x/y","id":"k","jsonrpc":"2.0"}"#)
    else {
        panic!("not a request");
    };
    assert_eq!(request.method(), "x/y");
    assert_eq!(request.id(), Some(&Id::String("k".into())));
    assert_eq!(request.params(), Some(&serde_json::json!({"a": [1, "é"]})));
}

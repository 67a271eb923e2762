//! Prompt context: what of a document snapshot the model sees around the cursor.

use ropey::Rope;

/// The text before and after `cursor_byte`, at most `before_bytes` and `after_bytes` long,
/// cut on character boundaries. Copies only the window, never the whole document.
pub fn window(
    rope: &Rope,
    cursor_byte: usize,
    before_bytes: usize,
    after_bytes: usize,
) -> (String, String) {
    let len = rope.len_bytes();
    let cursor_char = rope.byte_to_char(cursor_byte.min(len));
    // Round the window's start up to a whole character so it never exceeds the budget.
    let start_byte = rope.char_to_byte(cursor_char).saturating_sub(before_bytes);
    let mut start_char = rope.byte_to_char(start_byte);
    if rope.char_to_byte(start_char) < start_byte {
        start_char += 1;
    }
    let end_byte = rope
        .char_to_byte(cursor_char)
        .saturating_add(after_bytes)
        .min(len);
    let end_char = rope.byte_to_char(end_byte);
    (
        rope.slice(start_char..cursor_char).to_string(),
        rope.slice(cursor_char..end_char).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cut_on_character_boundaries() {
        let rope = Rope::from_str("aé😀b|cd😀e");
        let cursor = "aé😀b".len();
        assert_eq!(
            window(&rope, cursor, 100, 100),
            ("aé😀b".into(), "|cd😀e".into())
        );
        // 6 bytes back lands inside `é`... the window starts on the next whole character.
        assert_eq!(window(&rope, cursor, 6, 5).0, "😀b");
        assert_eq!(window(&rope, cursor, 0, 5).1, "|cd");
    }
}

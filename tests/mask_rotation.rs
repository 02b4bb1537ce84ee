//! Key rotation: tokens made under key version 1 are re-tokenized under version 2 and still
//! detokenize to the clear text; hashes refuse with the reason, as they are one-way.

use arrow::array::{Array, AsArray, StringArray};
use strata::{
    mask::{
        detokenize, mask_array, retokenize, Alphabet, DigestEncoding, HashAlgorithm, MaskOp,
        MemoryKeys,
    },
    ErrorKind,
};

#[test]
fn retokenize_moves_tokens_to_the_current_version() {
    let clear = StringArray::from(vec![Some("4111-1111-1111-1111"), None, Some("Zoë 1234567")]);
    for alphabet in [None, Some(Alphabet::Digits)] {
        let op = MaskOp::Tokenize {
            key: "cards".into(),
            alphabet,
        };
        let v1 = MemoryKeys::new().with("cards", 1, [1u8; 32]).unwrap();
        let old = mask_array(&clear, &op, &v1).unwrap();
        assert!(old.as_string::<i32>().value(0).starts_with("cardsv1:"));

        let v2 = v1.clone().with("cards", 2, [2u8; 32]).unwrap();
        let new = retokenize(old.as_ref(), &op, &v2).unwrap();
        let new_text = new.as_string::<i32>();
        assert!(
            new_text.value(0).starts_with("cardsv2:"),
            "{}",
            new_text.value(0)
        );
        assert!(new.is_null(1));
        // The same as tokenizing the clear text under version 2 directly.
        let direct = mask_array(&clear, &op, &v2).unwrap();
        assert_eq!(&new, &direct);
        // Old tokens still detokenize while version 1 is kept; new ones too.
        assert_eq!(
            detokenize(old.as_ref(), &op, &v2)
                .unwrap()
                .as_string::<i32>(),
            &clear
        );
        assert_eq!(
            detokenize(new.as_ref(), &op, &v2)
                .unwrap()
                .as_string::<i32>(),
            &clear
        );
        // Already-current tokens are copied.
        assert_eq!(&retokenize(new.as_ref(), &op, &v2).unwrap(), &new);
        // Without version 1, old tokens cannot be read.
        let only_v2 = MemoryKeys::new().with("cards", 2, [2u8; 32]).unwrap();
        assert_eq!(
            retokenize(old.as_ref(), &op, &only_v2).unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
}

#[test]
fn hashes_cannot_be_retokenized() {
    let op = MaskOp::Hash {
        key: "k".into(),
        algorithm: HashAlgorithm::Sha256,
        encoding: DigestEncoding::Hex,
        truncate: None,
    };
    let keys = MemoryKeys::new().with("k", 1, [1u8; 32]).unwrap();
    let hashed = mask_array(&StringArray::from(vec!["a"]), &op, &keys).unwrap();
    let err = retokenize(hashed.as_ref(), &op, &keys).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(err.to_string().contains("one-way"), "{err}");
}

#[test]
fn non_tokens_are_rejected() {
    let op = MaskOp::Tokenize {
        key: "k".into(),
        alphabet: None,
    };
    let keys = MemoryKeys::new().with("k", 1, [1u8; 32]).unwrap();
    let err = detokenize(&StringArray::from(vec!["plain"]), &op, &keys).unwrap_err();
    assert!(err.to_string().contains("not a token"), "{err}");
}

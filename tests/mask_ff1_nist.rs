//! FF1 through the public `fpe` operator reproduces the NIST SP 800-38G sample vectors
//! (FF1samples.pdf, samples 1-9) and decrypts them back. The samples' tweaks are ASCII text
//! ("9876543210", "7777pqrs777"), so they pass through the operator's text tweak unchanged.

use std::sync::Arc;

use arrow::array::{Array, AsArray, StringArray};
use strata::mask::{detokenize, mask_array, Alphabet, MaskOp, MemoryKeys};

const K128: &str = "2B7E151628AED2A6ABF7158809CF4F3C";
const K192: &str = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F";
const K256: &str = "2B7E151628AED2A6ABF7158809CF4F3CEF4359D8D580AA4F7F036D6F04FC6A94";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn nist_samples_encrypt_and_decrypt() {
    let samples = [
        (1, K128, Alphabet::Digits, "", "0123456789", "2433477484"),
        (
            2,
            K128,
            Alphabet::Digits,
            "9876543210",
            "0123456789",
            "6124200773",
        ),
        (
            3,
            K128,
            Alphabet::LowerAlphanumeric,
            "7777pqrs777",
            "0123456789abcdefghi",
            "a9tv40mll9kdu509eum",
        ),
        (4, K192, Alphabet::Digits, "", "0123456789", "2830668132"),
        (
            5,
            K192,
            Alphabet::Digits,
            "9876543210",
            "0123456789",
            "2496655549",
        ),
        (
            6,
            K192,
            Alphabet::LowerAlphanumeric,
            "7777pqrs777",
            "0123456789abcdefghi",
            "xbj3kv35jrawxv32ysr",
        ),
        (7, K256, Alphabet::Digits, "", "0123456789", "6657667009"),
        (
            8,
            K256,
            Alphabet::Digits,
            "9876543210",
            "0123456789",
            "1001623463",
        ),
        (
            9,
            K256,
            Alphabet::LowerAlphanumeric,
            "7777pqrs777",
            "0123456789abcdefghi",
            "xs8a0azh2avyalyzuwd",
        ),
    ];
    for (n, key, alphabet, tweak, pt, ct) in samples {
        let keys = MemoryKeys::new().with("nist", 1, hex(key)).unwrap();
        let op = MaskOp::Fpe {
            key: "nist".into(),
            alphabet,
            tweak: tweak.into(),
        };
        let input = Arc::new(StringArray::from(vec![Some(pt), None]));
        let out = mask_array(input.as_ref(), &op, &keys).unwrap();
        assert_eq!(out.as_string::<i32>().value(0), ct, "sample {n}");
        assert!(out.is_null(1));
        let back = detokenize(out.as_ref(), &op, &keys).unwrap();
        assert_eq!(back.as_string::<i32>().value(0), pt, "sample {n}");
    }
}

#[test]
fn short_values_fail_the_domain_check() {
    let keys = MemoryKeys::new().with("nist", 1, hex(K128)).unwrap();
    let op = MaskOp::Fpe {
        key: "nist".into(),
        alphabet: Alphabet::Digits,
        tweak: String::new(),
    };
    let input = StringArray::from(vec!["123456", "12345"]);
    let err = mask_array(&input, &op, &keys).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("SP 800-38G") && text.contains("row: 1"),
        "{text}"
    );
}

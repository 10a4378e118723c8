//! The complaint form's decoding and validation: any field values give either a
//! complaint that keeps the rules or a list of localized error keys, never a panic.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mend_server::domain::case::complaint::{categories_of, validate, ComplaintForm};
use mend_server::domain::case::render_stamp;

#[derive(Debug, Arbitrary)]
struct Input {
    category: String,
    body: String,
    email: String,
    consent: bool,
    stamp: String,
    now: i64,
    min_seconds: u32,
}

fuzz_target!(|input: Input| {
    let form = ComplaintForm {
        category: input.category,
        body: input.body,
        email: input.email,
        consent: input.consent,
    };
    let categories = categories_of(None);
    match validate(&form, &categories) {
        Ok(c) => {
            assert!(categories.contains(&c.category));
            let text = c.text.as_str();
            assert!(!text.trim().is_empty() && text.chars().count() <= 2_000);
            if let Some(email) = &c.contact {
                // Nothing that could split a mail header survives validation.
                assert!(!email.as_str().contains(['\r', '\n', ',', '<', '>']));
            } else {
                assert!(!c.consent, "consent without a contact");
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
    // A stamp is checked before validation; whatever it is, the answer is a verdict.
    let _ = render_stamp::verify(
        b"fuzzing key",
        "TP",
        &input.stamp,
        input.now,
        input.min_seconds,
    );
});

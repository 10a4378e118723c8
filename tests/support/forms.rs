//! What a browser sends: a complaint post field by field, the CSRF token and inputs read
//! from a page, and the customer's side of the app (open the form, complain), plus the
//! outbox a complaint leads to.

use crate::app::TestApp;

/// The CSRF token of the first form in a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("no csrf field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A complaint post, field by field, as a browser would send it.
#[derive(Clone, Default)]
pub struct Post {
    pub fields: Vec<(&'static str, String)>,
    pub photo: Option<Vec<u8>>,
}

impl Post {
    /// A complete, valid complaint.
    pub fn valid() -> Post {
        Post::default()
            .with("category", "cleanliness")
            .with("body", "The restroom has no soap.")
            .with("email", "guest@example.com")
            .with("consent", "yes")
    }

    pub fn with(mut self, name: &'static str, value: &str) -> Post {
        self.fields.retain(|(n, _)| *n != name);
        self.fields.push((name, value.to_owned()));
        self
    }

    pub fn without(mut self, name: &str) -> Post {
        self.fields.retain(|(n, _)| *n != name);
        self
    }

    pub fn photo(mut self, bytes: Vec<u8>) -> Post {
        self.photo = Some(bytes);
        self
    }

    fn form(&self) -> reqwest::multipart::Form {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &self.fields {
            form = form.text(*name, value.clone());
        }
        let photo = self.photo.clone().unwrap_or_default();
        form.part(
            "photo",
            reqwest::multipart::Part::bytes(photo).file_name("photo.jpg"),
        )
    }
}

/// The value of a hidden or text input in a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

impl TestApp {
    /// Opens a touchpoint's form (as a customer would) and returns the page.
    pub async fn open_form(&self, code: &str, query: &str) -> String {
        let res = self.get(&format!("/t/{code}{query}")).await;
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    /// [`TestApp::submit`], which must succeed: the new case's reference.
    pub async fn complain(&self, code: &str, post: Post) -> String {
        let res = self.submit(code, post).await;
        assert_eq!(res.status(), 303, "{:?}", res.text().await);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        location
            .trim_start_matches("/c/")
            .split('?')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Opens the form, then posts `post` with the page's stamp (unless the post has one).
    pub async fn submit(&self, code: &str, post: Post) -> reqwest::Response {
        let page = self.open_form(code, "").await;
        let post = if post.fields.iter().any(|(n, _)| *n == "stamp") {
            post
        } else {
            post.with("stamp", &input_value(&page, "stamp").unwrap())
        };
        self.post_raw(code, &post).await
    }

    pub async fn post_raw(&self, code: &str, post: &Post) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/t/{code}")))
            .multipart(post.form())
            .send()
            .await
            .unwrap()
    }

    pub fn case_count(&self) -> i64 {
        self.db
            .read(mend_server::db::queries::cases::count)
            .unwrap()
    }

    /// Lets the outbox worker finish everything due by the app's clock (escalations,
    /// surveys, every due message sent and recorded) and find nothing more: then "nothing
    /// more was sent" is a fact, not a hope after a sleep.
    pub async fn drain_outbox(&self) {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.outbox.until_idle())
            .await
            .expect("the outbox worker went idle within a minute");
    }

    /// Moves the app's clock forward and wakes its outbox worker, as if that time passed.
    pub fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by);
        self.outbox.wake();
    }

    /// Every outbox row, oldest first.
    pub fn outbox_rows(&self) -> Vec<mend_server::db::models::OutboxMessage> {
        use diesel::prelude::*;
        use mend_server::db::models::OutboxMessage;
        use mend_server::db::schema::outbox;
        self.db
            .read(|c| {
                outbox::table
                    .order((outbox::created_at.asc(), outbox::id.asc()))
                    .select(OutboxMessage::as_select())
                    .load(c)
            })
            .unwrap()
    }

    /// Waits until `check` holds for the outbox rows; panics after `timeout`.
    pub async fn wait_for_outbox(
        &self,
        what: &str,
        timeout: std::time::Duration,
        check: impl Fn(&[mend_server::db::models::OutboxMessage]) -> bool,
    ) -> Vec<mend_server::db::models::OutboxMessage> {
        let start = std::time::Instant::now();
        loop {
            let rows = self.outbox_rows();
            if check(&rows) {
                return rows;
            }
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {what}: {rows:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

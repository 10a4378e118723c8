//! The one diesel schema both backends share (see migrations/sqlite and migrations/postgres).

diesel::table! {
    locations (id) {
        id -> Text,
        name -> Text,
        time_zone -> Text,
        default_language -> Text,
        sla_minutes -> Integer,
        created_at -> Timestamp,
        logo_png -> Nullable<Binary>,
        logo_etag -> Nullable<Text>,
        categories -> Nullable<Text>,
        opening_hours -> Nullable<Text>,
        escalation_minutes -> Integer,
        severe_categories -> Nullable<Text>,
        severe_keywords -> Nullable<Text>,
        root_causes -> Nullable<Text>,
        survey_delay_minutes -> Integer,
        follow_up_days -> Integer,
        unhappy_reopens -> Bool,
        weekly_digest -> Bool,
        unhappy_taps -> Integer,
        unhappy_tap_minutes -> Integer,
        unhappy_alerted_at -> Nullable<Timestamp>,
        retention_days -> Integer,
        address -> Nullable<Text>,
        region -> Nullable<Text>,
        currency -> Text,
        external_ref -> Nullable<Text>,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    touchpoints (id) {
        id -> Text,
        location_id -> Text,
        label -> Text,
        code -> Text,
        created_at -> Timestamp,
        position -> Integer,
        retired_at -> Nullable<Timestamp>,
        external_ref -> Nullable<Text>,
        previous_code -> Nullable<Text>,
        previous_code_retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        language -> Text,
        created_at -> Timestamp,
        deactivated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_locations (user_id, location_id) {
        user_id -> Text,
        location_id -> Text,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        reference -> Text,
        location_id -> Text,
        touchpoint_id -> Text,
        category -> Text,
        body -> Text,
        contact_email -> Nullable<Text>,
        contact_consent -> Bool,
        language -> Text,
        status -> Text,
        created_at -> Timestamp,
        acknowledged_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        status_token_hash -> Nullable<Text>,
        render_nonce -> Nullable<Text>,
        photo_path -> Nullable<Text>,
        photo_thumb_path -> Nullable<Text>,
        assignee_id -> Nullable<Text>,
        resolution -> Nullable<Text>,
        root_cause -> Nullable<Text>,
        compensation_type -> Nullable<Text>,
        compensation_minor -> Nullable<Integer>,
        compensation_currency -> Nullable<Text>,
        merged_into -> Nullable<Text>,
        device_hash -> Nullable<Text>,
        anonymized_at -> Nullable<Timestamp>,
        severe -> Nullable<Bool>,
        erased_at -> Nullable<Timestamp>,
        flagged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_events (id) {
        id -> Text,
        case_id -> Text,
        actor_user_id -> Nullable<Text>,
        kind -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        recipient -> Text,
        payload -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        dedupe_key -> Text,
        created_at -> Timestamp,
        failed_at -> Nullable<Timestamp>,
        case_id -> Nullable<Text>,
    }
}

diesel::table! {
    alert_recipients (location_id, rule, category, email) {
        location_id -> Text,
        rule -> Text,
        category -> Text,
        email -> Text,
    }
}

diesel::table! {
    escalations (case_id, level) {
        case_id -> Text,
        level -> Integer,
        due_at -> Timestamp,
        fired_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    surveys (id) {
        id -> Text,
        case_id -> Text,
        token_hash -> Text,
        sent_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        csat -> Nullable<Integer>,
        fixed -> Nullable<Text>,
        return_likelihood -> Nullable<Integer>,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
        kind -> Text,
        recipient -> Nullable<Text>,
        language -> Text,
        due_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
        still_working -> Nullable<Bool>,
        location_id -> Nullable<Text>,
        touchpoint_id -> Nullable<Text>,
        category -> Nullable<Text>,
        root_cause -> Nullable<Text>,
        compensation_type -> Nullable<Text>,
        compensation_minor -> Nullable<Integer>,
        compensation_currency -> Nullable<Text>,
    }
}

diesel::table! {
    mail_opt_outs (email) {
        email -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    kiosk_devices (id) {
        id -> Text,
        location_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_seen_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        buffered -> Integer,
        version -> Nullable<Text>,
        touchpoint_id -> Nullable<Text>,
    }
}

diesel::table! {
    kiosk_ratings (id) {
        id -> Text,
        device_id -> Text,
        location_id -> Text,
        rating -> Integer,
        idempotency_key -> Text,
        tapped_at -> Timestamp,
        received_at -> Timestamp,
    }
}

diesel::table! {
    kiosk_handoffs (tap_key) {
        tap_key -> Text,
        case_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    touchpoint_scans (touchpoint_id, day) {
        touchpoint_id -> Text,
        day -> Date,
        scans -> Integer,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    admin_log (id) {
        id -> Text,
        actor_user_id -> Nullable<Text>,
        actor -> Text,
        action -> Text,
        subject -> Text,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    store_categories (location_id, key) {
        location_id -> Text,
        key -> Text,
        labels -> Text,
        position -> Integer,
        severe -> Bool,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    process_changes (id) {
        id -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        effective_on -> Date,
        category -> Nullable<Text>,
        root_cause -> Nullable<Text>,
        texts -> Text,
        mail_from -> Nullable<Timestamp>,
        mail_to -> Nullable<Timestamp>,
        mail_cursor -> Nullable<Text>,
        mailed_at -> Nullable<Timestamp>,
        mailed_count -> Integer,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    process_change_stores (change_id, location_id) {
        change_id -> Text,
        location_id -> Text,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        scope -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_token_locations (token_id, location_id) {
        token_id -> Text,
        location_id -> Text,
    }
}

diesel::table! {
    api_idempotency (token_id, key) {
        token_id -> Text,
        key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        location_id -> Nullable<Text>,
        url -> Text,
        format -> Text,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_secret_until -> Nullable<Timestamp>,
        with_contact -> Bool,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        failing_since -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
        disabled_reason -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_subscription_events (subscription_id, event) {
        subscription_id -> Text,
        event -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        subscription_id -> Text,
        event -> Text,
        location_id -> Text,
        case_id -> Nullable<Text>,
        case_event_id -> Nullable<Text>,
        detail -> Text,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        attempts -> Integer,
        leased_until -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_subscription_events -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(api_token_locations -> api_tokens (token_id));
diesel::joinable!(api_token_locations -> locations (location_id));
diesel::joinable!(process_change_stores -> process_changes (change_id));
diesel::joinable!(process_change_stores -> locations (location_id));
diesel::joinable!(store_categories -> locations (location_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(touchpoint_scans -> touchpoints (touchpoint_id));
diesel::joinable!(touchpoints -> locations (location_id));
diesel::joinable!(user_locations -> users (user_id));
diesel::joinable!(user_locations -> locations (location_id));
diesel::joinable!(cases -> locations (location_id));
diesel::joinable!(cases -> touchpoints (touchpoint_id));
diesel::joinable!(case_events -> cases (case_id));
diesel::joinable!(case_events -> users (actor_user_id));
diesel::joinable!(surveys -> cases (case_id));
diesel::joinable!(case_wishes -> cases (case_id));
diesel::joinable!(kiosk_devices -> locations (location_id));
diesel::joinable!(kiosk_handoffs -> cases (case_id));
diesel::joinable!(kiosk_ratings -> kiosk_devices (device_id));
diesel::joinable!(kiosk_ratings -> locations (location_id));
diesel::joinable!(alert_recipients -> locations (location_id));
diesel::joinable!(escalations -> cases (case_id));

diesel::table! {
    photos (path) {
        path -> Text,
        bytes -> Nullable<Binary>,
        byte_size -> BigInt,
        stored_at -> Timestamp,
        held -> Bool,
        remote -> Bool,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    case_wishes (case_id) {
        case_id -> Text,
        kind -> Text,
        text -> Nullable<Text>,
        given_at -> Timestamp,
    }
}

diesel::table! {
    remedy_limits (location_id, role) {
        location_id -> Text,
        role -> Text,
        kinds -> Text,
        max_minor -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    remedy_proposals (id) {
        id -> Text,
        case_id -> Text,
        proposed_by -> Text,
        kind -> Text,
        amount_minor -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        reason -> Text,
        created_at -> Timestamp,
        approved -> Nullable<Bool>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    store_replies (location_id, kind, language) {
        location_id -> Text,
        kind -> Text,
        language -> Text,
        text -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    locations,
    touchpoints,
    touchpoint_scans,
    users,
    user_locations,
    cases,
    case_events,
    outbox,
    surveys,
    kiosk_devices,
    kiosk_handoffs,
    kiosk_ratings,
    alert_recipients,
    escalations,
    mail_opt_outs,
    sessions,
    admin_log,
    store_categories,
    process_changes,
    process_change_stores,
    api_tokens,
    api_token_locations,
    api_idempotency,
    webhook_subscriptions,
    webhook_subscription_events,
    webhook_deliveries,
    photos,
    case_wishes,
    remedy_limits,
    remedy_proposals,
    store_replies,
);

DROP TABLE api_idempotency;
DROP TABLE api_token_locations;
DROP TABLE api_tokens;

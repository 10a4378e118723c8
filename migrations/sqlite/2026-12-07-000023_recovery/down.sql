DROP TABLE store_replies;
DROP INDEX remedy_proposals_case;
DROP TABLE remedy_proposals;
DROP TABLE remedy_limits;
DROP TABLE case_wishes;

-- 0008: the search index of GET /v1/users?q=. One row per search term of a
-- user (its email key, username, name, given and family name, each folded
-- by directory.SearchKey), kept by the Service in the transaction of every
-- write that changes one; a prefix is a range of the primary key, compared
-- bytewise (COLLATE "C").
--
-- Users that exist before this migration get their terms here, folded by
-- lower(), which differs from full case folding for a few letters (ß, ſ,
-- final sigma): until such a user's next write changes the field, a query
-- may miss it.

CREATE TABLE user_search (
	tenant_id text COLLATE "C" NOT NULL,
	term      text COLLATE "C" NOT NULL,
	user_id   text COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, term, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- A user's terms: for the cascade of a purge, and for the check of each user
-- when a search is dense (see ListUsers).
CREATE INDEX user_search_user ON user_search (tenant_id, user_id, term);

INSERT INTO user_search (tenant_id, term, user_id)
	SELECT DISTINCT tenant_id, term, id FROM users
	CROSS JOIN LATERAL (VALUES (email_key), (username), (lower(name)), (lower(given_name)), (lower(family_name))) AS t (term)
	WHERE term IS NOT NULL AND term <> '';

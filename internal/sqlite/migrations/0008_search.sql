-- 0008: the search index of GET /v1/users?q=. One row per search term of a
-- user (its email key, username, name, given and family name, each folded
-- by directory.SearchKey), kept by the Service in the transaction of every
-- write that changes one; a prefix is a range of the primary key.
--
-- Users that exist before this migration get their terms here, folded by
-- SQLite's lower(), which folds ASCII letters only: until such a user's
-- next write changes the field, a query with a non-ASCII capital letter
-- may miss its name.

CREATE TABLE user_search (
	tenant_id TEXT NOT NULL,
	term      TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	PRIMARY KEY (tenant_id, term, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- A user's terms: for the cascade of a purge, and for the check of each user
-- when a search is dense (see ListUsers).
CREATE INDEX user_search_user ON user_search (tenant_id, user_id, term);

INSERT OR IGNORE INTO user_search (tenant_id, term, user_id)
	SELECT tenant_id, email_key, id FROM users WHERE email_key IS NOT NULL
	UNION SELECT tenant_id, username, id FROM users WHERE username IS NOT NULL
	UNION SELECT tenant_id, lower(json_extract(profile, '$.name')), id FROM users WHERE json_extract(profile, '$.name') IS NOT NULL
	UNION SELECT tenant_id, lower(json_extract(profile, '$.given_name')), id FROM users WHERE json_extract(profile, '$.given_name') IS NOT NULL
	UNION SELECT tenant_id, lower(json_extract(profile, '$.family_name')), id FROM users WHERE json_extract(profile, '$.family_name') IS NOT NULL;

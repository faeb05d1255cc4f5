-- 0013: the display names of roles, by role: a SCIM group's displayName
-- ("Engineering Team") beside the role key users hold ("engineering-team").

ALTER TABLE tenants ADD COLUMN role_names TEXT NOT NULL DEFAULT '{}'; -- JSON object: role → display name

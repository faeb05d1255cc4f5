-- 0014: every change of a user's row notifies the channel roster_users with
-- "tenant_id user_id", so that nodes keeping users in memory forget the ones
-- another node changed (Store.WatchUsers, internal/usercache). PostgreSQL
-- delivers a notification only when its transaction commits, and folds the
-- duplicates of one transaction. A new row needs none: no node has it yet.

CREATE FUNCTION roster_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('roster_users', OLD.tenant_id || ' ' || OLD.id);
	RETURN NULL;
END
$$;

CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION roster_user_changed();

-- 0015: a change of a user's row notifies its version too, "tenant_id id
-- version" (a deletion still sends "tenant_id id"), so that a node keeps
-- what it holds of the user when it is as new as the change: its own
-- writes, reported back, then cost it nothing (Store.WatchUsers).

CREATE OR REPLACE FUNCTION roster_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('roster_users', OLD.tenant_id || ' ' || OLD.id);
	ELSE
		PERFORM pg_notify('roster_users', NEW.tenant_id || ' ' || NEW.id || ' ' || NEW.version);
	END IF;
	RETURN NULL;
END
$$;

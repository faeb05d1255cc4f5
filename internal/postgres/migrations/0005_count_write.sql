-- 0005: roster_count_write counts a write as Tx.AddWrite does and checks
-- it in the database, so that the count is sent with the transaction's
-- COMMIT (Tx.CountWriteAtCommit) instead of in a round trip of its own
-- whose answer the node checks. It raises RS409 when the tenant's config
-- version is not the one the write was decided on, RS429 when the count
-- passes p_max, RS404 when the tenant does not exist; the transaction then
-- commits nothing.
--
-- It only adds a function: nodes of the previous release, which do not
-- call it, run beside nodes of this one.

CREATE FUNCTION roster_count_write(p_tenant text, p_period timestamptz, p_shard smallint,
		p_version bigint, p_max bigint,
		OUT o_writes bigint, OUT o_active bigint, OUT o_version bigint)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT t.active_users, t.config_version INTO o_active, o_version FROM tenants t WHERE t.id = p_tenant;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'tenant % does not exist', p_tenant USING ERRCODE = 'RS404';
	END IF;
	IF o_version <> p_version THEN
		RAISE EXCEPTION 'the configuration of tenant % is at version %, the write was decided on %', p_tenant, o_version, p_version
			USING ERRCODE = 'RS409';
	END IF;
	INSERT INTO usage AS u (tenant_id, period_start, shard, writes) VALUES (p_tenant, p_period, p_shard, 1)
		ON CONFLICT (tenant_id, period_start, shard) DO UPDATE SET writes = u.writes + 1;
	SELECT coalesce(sum(u.writes), 0) INTO o_writes FROM usage u WHERE u.tenant_id = p_tenant AND u.period_start = p_period;
	IF o_writes > p_max THEN
		RAISE EXCEPTION 'tenant % made % writes, the plan allows %', p_tenant, o_writes, p_max USING ERRCODE = 'RS429';
	END IF;
END
$$;

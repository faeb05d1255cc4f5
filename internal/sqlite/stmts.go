package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// statements are the queries of the hot paths, prepared once per connection:
// reading a user, a key, a tenant, its endpoints and its usage, and the
// writes of a user update (the user, its audit entry, its event and the
// event's deliveries, the usage counter). The others are
// prepared per call, which costs little next to their own work.
type statements struct {
	readGetUser     *sql.Stmt
	readKeyByHash   *sql.Stmt
	readKeysVersion *sql.Stmt

	getUser    *sql.Stmt
	createUser *sql.Stmt
	updateUser *sql.Stmt
	// updateUserKeepingKeys is tried before updateUser.
	updateUserKeepingKeys *sql.Stmt
	userExists            *sql.Stmt
	insertAudit           *sql.Stmt
	insertEvent           *sql.Stmt

	insertDelivery *sql.Stmt

	deleteSearchTerm, insertSearchTerm *sql.Stmt

	readGetTenant     *sql.Stmt
	readListEndpoints *sql.Stmt
	readUsage         *sql.Stmt
	addWrites         *sql.Stmt
	counters          *sql.Stmt

	// The savepoint of each caller of a group-commit batch.
	savepoint, release, rollbackTo *sql.Stmt

	all []*sql.Stmt
}

// stmtSpec is a statement to prepare: its query, the pool to prepare it on
// and where to keep it.
type stmtSpec struct {
	dst   **sql.Stmt
	db    *sql.DB
	query string
}

func (st *statements) specs(write, read *sql.DB) []stmtSpec {
	return []stmtSpec{
		{&st.readGetUser, read, getUserSQL},
		{&st.readKeyByHash, read, keyByHashSQL},
		{&st.readKeysVersion, read, keysVersionSQL},
		{&st.getUser, write, getUserSQL},
		{&st.createUser, write, createUserSQL},
		{&st.updateUser, write, updateUserSQL},
		{&st.updateUserKeepingKeys, write, updateUserKeepingKeysSQL},
		{&st.userExists, write, userExistsSQL},
		{&st.insertAudit, write, insertAuditSQL},
		{&st.insertEvent, write, insertEventSQL},
		{&st.insertDelivery, write, insertDeliverySQL},
		{&st.deleteSearchTerm, write, deleteSearchTermSQL},
		{&st.insertSearchTerm, write, insertSearchTermSQL},
		{&st.readGetTenant, read, getTenantSQL},
		{&st.readListEndpoints, read, listEndpointsSQL},
		{&st.readUsage, read, usageSQL},
		{&st.addWrites, write, addWritesSQL},
		{&st.counters, write, countersSQL},
		{&st.savepoint, write, `SAVEPOINT intx`},
		{&st.release, write, `RELEASE intx`},
		{&st.rollbackTo, write, `ROLLBACK TO intx`},
	}
}

func (st *statements) prepare(ctx context.Context, write, read *sql.DB) error {
	for _, p := range st.specs(write, read) {
		stmt, err := p.db.PrepareContext(ctx, p.query)
		if err != nil {
			return wrapErr("prepare", err)
		}
		*p.dst = stmt
		st.all = append(st.all, stmt)
	}
	return nil
}

func (st *statements) close() error {
	var err error
	for _, stmt := range st.all {
		err = errors.Join(err, stmt.Close())
	}
	st.all = nil
	return err
}

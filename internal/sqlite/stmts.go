package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// statements are the queries of the hot paths, prepared once per connection:
// reading a user and a key, and the writes of a user update (the user, its
// audit entry, its event and the event's deliveries). The others are
// prepared per call, which costs little next to their own work.
type statements struct {
	readGetUser   *sql.Stmt
	readKeyByHash *sql.Stmt

	getUser     *sql.Stmt
	createUser  *sql.Stmt
	updateUser  *sql.Stmt
	userExists  *sql.Stmt
	insertAudit *sql.Stmt
	insertEvent *sql.Stmt

	insertDelivery *sql.Stmt

	all []*sql.Stmt
}

func (st *statements) prepare(ctx context.Context, write, read *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		db    *sql.DB
		query string
	}{
		{&st.readGetUser, read, getUserSQL},
		{&st.readKeyByHash, read, keyByHashSQL},
		{&st.getUser, write, getUserSQL},
		{&st.createUser, write, createUserSQL},
		{&st.updateUser, write, updateUserSQL},
		{&st.userExists, write, userExistsSQL},
		{&st.insertAudit, write, insertAuditSQL},
		{&st.insertEvent, write, insertEventSQL},
		{&st.insertDelivery, write, insertDeliverySQL},
	} {
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

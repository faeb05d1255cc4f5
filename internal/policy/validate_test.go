package policy

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/x/exp/schema"

	"github.com/roster-dev/roster/internal/directory"
)

// messages returns the messages of Validate(text), failing the test unless
// it is nil or a well-formed validation_failed error.
func messages(t *testing.T, text string) []string {
	t.Helper()
	err := Validate(text)
	if err == nil {
		return nil
	}
	var de *directory.Error
	if !errors.As(err, &de) {
		t.Fatalf("Validate: %v is not a *directory.Error", err)
	}
	if de.Code != directory.ECodeValidationFailed || de.Message != "The policies are invalid." || len(de.Fields) == 0 {
		t.Fatalf("Validate: got %+v", de)
	}
	var out []string
	for _, f := range de.Fields {
		if f.Field != "policies" || f.Code != "invalid_policy" {
			t.Errorf("field error %+v: want field policies, code invalid_policy", f)
		}
		if !regexp.MustCompile(`^\d+:\d+: `).MatchString(f.Message) {
			t.Errorf("message %q does not start with line:column", f.Message)
		}
		out = append(out, f.Message)
	}
	return out
}

// wantMessages checks that Validate(text) gives exactly one message per
// entry of want, in order, each containing its entry.
func wantMessages(t *testing.T, text string, want ...string) {
	t.Helper()
	got := messages(t, text)
	if len(got) != len(want) {
		t.Fatalf("Validate: got %d messages %q, want %d like %q", len(got), got, len(want), want)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("message %d: got %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

func TestSchemaParses(t *testing.T) {
	var s schema.Schema
	if err := s.UnmarshalCedar([]byte(Schema)); err != nil {
		t.Fatal(err)
	}
	rs, err := s.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range []cedar.EntityType{"Key", "User"} {
		if _, ok := rs.Entities[et]; !ok {
			t.Errorf("the schema lacks %s", et)
		}
	}
	for _, a := range allActions {
		if _, ok := rs.Actions[cedar.NewEntityUID("Action", cedar.String(a))]; !ok {
			t.Errorf("the schema lacks Action::%q", a)
		}
	}
	if len(rs.Actions) != len(allActions) {
		t.Errorf("the schema has %d actions, want %d", len(rs.Actions), len(allActions))
	}
}

func TestValidateAccepts(t *testing.T) {
	for name, text := range map[string]string{
		"the default set": DefaultPolicies,
		"empty":           "",
		"comments only":   "// nothing yet\n",
		"a metadata string": `forbid (principal, action, resource)
when { resource.metadata has plan && resource.metadata.plan == "enterprise" };`,
		"a metadata number and a string in two policies": `
forbid (principal, action, resource) when { resource.metadata has seats && resource.metadata.seats > 3 };
forbid (principal, action, resource) when { resource.metadata has plan && resource.metadata.plan like "ent*" };`,
		"nested metadata and a quoted key": `
forbid (principal is User, action, resource)
when {
  principal.metadata has address && principal.metadata.address has city &&
  resource.metadata has address && resource.metadata.address has city &&
  principal.metadata.address.city != resource.metadata.address.city
};
forbid (principal, action, resource)
when { resource.secure_metadata has "risk-score" && resource.secure_metadata["risk-score"] >= 80 };`,
		"a metadata set": `forbid (principal, action, resource)
when { resource.metadata has tags && resource.metadata.tags.contains("frozen") };`,
		"a metadata decimal": `forbid (principal, action, resource)
when { resource.metadata has price && resource.metadata.price.greaterThan(decimal("9.99")) };`,
		"a metadata bool": `forbid (principal, action, resource)
when { resource.metadata has locked && resource.metadata.locked };`,
	} {
		t.Run(name, func(t *testing.T) {
			if got := messages(t, text); got != nil {
				t.Errorf("Validate: %q", got)
			}
		})
	}
}

func TestValidateSyntaxErrors(t *testing.T) {
	t.Run("position of the token", func(t *testing.T) {
		text := "permit (principal, action, resource);\n\nforbid (principal, action, resource)\nwhen { resource.roles.contains( };\n"
		wantMessages(t, text, `4:34: syntax error near ";": invalid primary`)
	})
	t.Run("every statement", func(t *testing.T) {
		text := "permit (principal, action, resource) when { 1 + };\n" +
			"permit (principal, action, resource);\n" +
			"  @id(\"x\") forbid (principal, action, resource) when { resource.x == };\n"
		wantMessages(t, text, `1:50: syntax error near ";"`, `3:71: syntax error near ";"`)
	})
	t.Run("unterminated string", func(t *testing.T) {
		wantMessages(t, "permit (principal, action, resource);\npermit (principal, action == Action::\"updateUser, resource);",
			`2:38: syntax error: literal not terminated`)
	})
	t.Run("missing semicolon at the end", func(t *testing.T) {
		wantMessages(t, "permit (principal, action, resource);\n\npermit (principal, action, resource)\n",
			`syntax error at the end of the text`)
	})
	t.Run("duplicate annotation", func(t *testing.T) {
		wantMessages(t, "\n@id(\"a\") @id(\"b\") permit (principal, action, resource);", `2:13: syntax error near "(": duplicate annotation: @id`)
	})
	t.Run("semicolons in strings and comments", func(t *testing.T) {
		text := "// a comment; with a semicolon\n@notice(\"Stop; now.\") forbid (principal, action, resource) when { resource has email && resource.email == \"a;b\" };\n"
		if got := messages(t, text); got != nil {
			t.Errorf("Validate: %q", got)
		}
	})
}

func TestValidateSchemaErrors(t *testing.T) {
	t.Run("unknown attribute", func(t *testing.T) {
		wantMessages(t, "permit (principal, action, resource);\n\n@id(\"staff-only\")\npermit (principal, action, resource)\nwhen { resource.staff };",
			"3:1: for policy `staff-only`, attribute `staff` on entity type `User` not found")
	})
	t.Run("unknown entity type", func(t *testing.T) {
		got := messages(t, `permit (principal in Group::"g", action, resource);`)
		if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "unrecognized entity type `Group`") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("unknown action", func(t *testing.T) {
		got := messages(t, `permit (principal, action == Action::"readUser", resource);`)
		if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "1:1: for policy `policy0`, unrecognized action `Action::\"readUser\"`") {
			t.Errorf("got %q", got)
		}
	})
	t.Run("unknown context attribute, once", func(t *testing.T) {
		wantMessages(t, `permit (principal, action, resource) when { context.ip == "1.2.3.4" };`,
			"1:1: for policy `policy0`, attribute `ip` in context not found")
	})
	t.Run("a user attribute of a principal that may be a key", func(t *testing.T) {
		wantMessages(t, `permit (principal, action, resource) when { principal.is_owner };`,
			"attribute `is_owner` on entity type `Key` not found")
	})
	t.Run("an optional attribute without has", func(t *testing.T) {
		wantMessages(t, `permit (principal, action, resource) when { resource.email like "*@example.com" };`,
			"unable to guarantee safety of access to optional attribute `email`")
		wantMessages(t, `permit (principal, action, resource) when { resource.metadata.plan == "pro" };`,
			"unable to guarantee safety of access to optional attribute `metadata.plan`")
	})
	t.Run("a wrong type", func(t *testing.T) {
		wantMessages(t, `permit (principal, action, resource) when { resource.roles > 3 };`, "unexpected type")
	})
	t.Run("a metadata key read as two types", func(t *testing.T) {
		text := `@id("number") forbid (principal, action, resource)
when { resource.metadata has seats && resource.metadata.seats > 3 };
@id("string") forbid (principal, action, resource)
when { resource.metadata has seats && resource.metadata.seats like "a*" };`
		wantMessages(t, text,
			"1:1: for policy `number`, metadata.seats is read as different types by the policies",
			"1:1: for policy `number`, unexpected type")
	})
	t.Run("syntax and schema errors together, in text order", func(t *testing.T) {
		text := `permit (principal, action, resource) when { resource.nope };
permit (principal, action, resource) when { ( };`
		wantMessages(t, text, "1:1: for policy `policy0`, attribute `nope`", "2:48: syntax error")
	})
	t.Run("at most 50 messages", func(t *testing.T) {
		text := strings.Repeat("permit (principal, action, resource) when { resource.nope };\n", 60)
		got := messages(t, text)
		if len(got) != 51 || !strings.HasPrefix(got[50], "51:1: 10 more problems") {
			t.Errorf("got %d messages, the last %q", len(got), got[len(got)-1])
		}
	})
}

func TestValidateMessageFromDocs(t *testing.T) {
	// docs/policies.md quotes these two messages.
	wantMessages(t, "permit (principal, action, resource);\npermit (principal, action, resource);\nforbid (principal, action, resource) when { ( };",
		`3:48: syntax error near ";": invalid primary`)
}

// TestValidateLargeText bounds the work of a large text full of problems.
func TestValidateLargeText(t *testing.T) {
	var b strings.Builder
	for i := range MaxPolicies / 2 {
		// Each key is read as a Long and as a String: the search tries
		// every type of each.
		k := "k" + strconv.Itoa(i)
		b.WriteString("permit (principal, action, resource) when { resource.metadata has " + k +
			" && resource.metadata." + k + " > 1 && resource.metadata." + k + ` like "a" };` + "\n")
		b.WriteString("permit (principal, action, resource) when { ( };\n")
	}
	start := time.Now()
	got := messages(t, b.String())
	if len(got) != 51 || !strings.Contains(got[0], "1:1: for policy `policy0`, unexpected type") {
		t.Errorf("got %d messages, the first %q", len(got), got[0])
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Validate took %v", d)
	}
}

func TestValidateTooManyMetadataKeys(t *testing.T) {
	var b strings.Builder
	for i := range MaxPolicies {
		k := "k" + strconv.Itoa(3*i)
		b.WriteString("permit (principal, action, resource) when { resource.metadata has " + k + " && resource.metadata has " + k + "b && resource.metadata has " + k + "c };\n")
	}
	wantMessages(t, b.String(), "86:1: for policy `policy85`, the policies read more than 256 metadata keys")
}

// TestValidateLimits: a text over MaxTextBytes or MaxPolicies is refused
// with that one error, before it is parsed (the texts refused here are full
// of syntax and type errors, which a parse would list); texts at the limits
// pass them.
func TestValidateLimits(t *testing.T) {
	const permit = "permit (principal, action, resource);\n"
	const broken = "permit (principal, action, resource) when { resource.nope ( };\n"
	// pad makes text exactly n bytes long with a trailing comment.
	pad := func(text string, n int) string {
		return text + "//" + strings.Repeat("x", n-len(text)-3) + "\n"
	}
	for _, tc := range []struct {
		name, text string
		code       string // "": accepted
	}{
		{"bytes at the limit", pad(permit, MaxTextBytes), ""},
		{"bytes over the limit", pad(strings.Repeat(broken, 10), MaxTextBytes+1), "too_large"},
		{"a megabyte", strings.Repeat(broken, (1<<20)/len(broken)), "too_large"},
		{"policies at the limit", strings.Repeat(permit, MaxPolicies), ""},
		{"policies over the limit", strings.Repeat(broken, MaxPolicies+1), "too_many_policies"},
		{"semicolons in strings and comments do not count", `@notice("` + strings.Repeat(";", 2*MaxPolicies) + `")` + "\n" +
			"// " + strings.Repeat(";", 2*MaxPolicies) + "\n" + strings.Repeat(permit, MaxPolicies-1), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.text)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var de *directory.Error
			if !errors.As(err, &de) {
				t.Fatalf("Validate: got %v, want a *directory.Error", err)
			}
			if de.Code != directory.ECodeValidationFailed || len(de.Fields) != 1 {
				t.Fatalf("Validate: got %+v, want validation_failed with one field error", de)
			}
			if f := de.Fields[0]; f.Field != "policies" || f.Code != tc.code {
				t.Errorf("field error %+v, want field policies, code %s", f, tc.code)
			}
		})
	}
}

package fields

var errCountry = fail(CodeInvalidCountry,
	"must be an assigned ISO 3166-1 alpha-2 country code such as FR")

// assignedCountries lists the 249 officially assigned ISO 3166-1 alpha-2
// codes (unchanged since SS in 2011). It is embedded rather than taken from
// golang.org/x/text/language, whose Region.IsCountry also accepts withdrawn
// (SU, YU, AN), exceptionally reserved (UK, EU, FX, EA) and
// CLDR-specific (XK) codes.
const assignedCountries = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"YE YT " +
	"ZA ZM ZW"

// extraCountries are user-assigned codes accepted as countries: XK, used for
// Kosovo by the European Commission, CLDR and most software, since its people
// would otherwise have no country to pick.
const extraCountries = "XK"

// countryTable[(a-'A')*26+(b-'A')] reports whether code ab is accepted.
var countryTable = func() (t [26 * 26]bool) {
	for _, list := range []string{assignedCountries, extraCountries} {
		for i := 0; i+1 < len(list); i += 3 {
			t[int(list[i]-'A')*26+int(list[i+1]-'A')] = true
		}
	}
	return t
}()

// Country validates a country code and returns it upper-cased.
//
// It accepts an ISO 3166-1 alpha-2 code in any case ("fr", "Fr", "FR") that
// is officially assigned, plus XK (Kosovo, user-assigned but in general use).
// It rejects the other user-assigned codes (AA, QM–QZ, XA–XZ, ZZ), the
// exceptionally reserved ones (UK, EU, UN, FX, …; send GB for the United
// Kingdom), the transitionally reserved and withdrawn ones (SU, YU, AN, …),
// and anything but two ASCII letters: no surrounding spaces, no alpha-3 or
// numeric codes.
//
// Returns CodeInvalidCountry.
func Country(s string) (string, *Error) {
	if len(s) != 2 {
		return "", new(errCountry)
	}
	a, b := upperASCII(s[0]), upperASCII(s[1])
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || !countryTable[int(a-'A')*26+int(b-'A')] {
		return "", new(errCountry)
	}
	if a == s[0] && b == s[1] {
		return s, nil
	}
	return string([]byte{a, b}), nil
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

package query

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Expr is a parsed cluster query expression.
type Expr struct {
	src   string
	root  node
	tasks bool
}

// Parse parses a cluster query expression. Errors are *SyntaxError.
func Parse(src string) (*Expr, error) {
	if n := utf8.RuneCountInString(src); n > MaxLength {
		return nil, &SyntaxError{Expr: src, Pos: MaxLength + 1,
			Msg: fmt.Sprintf("expression is %d characters long; the limit is %d", n, MaxLength)}
	}
	p := &parser{src: src}
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "expression is empty")
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if !p.eof() {
		return nil, p.errorf(p.pos, "expected && or || but found %q", p.word())
	}
	return &Expr{src: src, root: root, tasks: p.tasks}, nil
}

// MustParse is Parse for expressions known to be valid, such as constants in
// tests; it panics on a syntax error.
func MustParse(src string) *Expr {
	e, err := Parse(src)
	if err != nil {
		panic(err)
	}
	return e
}

// Match reports whether the target satisfies the expression.
func (e *Expr) Match(t Target) bool { return e.root.eval(t) }

// String returns the expression as it was written.
func (e *Expr) String() string { return e.src }

// DependsOnTasks reports whether the expression looks at the tasks running on
// an instance (task:group, runningTasksCount). Those that do not depend only
// on the instance's registration, so their result can be cached until the
// instance changes.
func (e *Expr) DependsOnTasks() bool { return e.tasks }

type parser struct {
	src   string
	pos   int
	tasks bool
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) errorf(at int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Expr: p.src, Pos: utf8.RuneCountInString(p.src[:at]) + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isNameByte reports whether c may appear in a subject or a word operator.
// Attribute names are letters, digits, hyphens, underscores, periods and
// slashes; subjects add the colon.
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@'
}

// word returns the run of non-space characters at the cursor, for messages.
func (p *parser) word() string {
	end := p.pos
	for end < len(p.src) && !isSpace(p.src[end]) {
		end++
	}
	if end == p.pos {
		return "end of expression"
	}
	return p.src[p.pos:end]
}

// keyword consumes kw when it stands at the cursor as a whole word.
func (p *parser) keyword(kw string) bool {
	if !strings.HasPrefix(p.src[p.pos:], kw) {
		return false
	}
	end := p.pos + len(kw)
	if end < len(p.src) && isNameByte(p.src[end]) {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) symbol(sym string) bool {
	if strings.HasPrefix(p.src[p.pos:], sym) {
		p.pos += len(sym)
		return true
	}
	return false
}

func (p *parser) parseOr() (node, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !p.symbol("||") && !p.keyword("or") {
			return left, nil
		}
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = orNode{left, right}
	}
}

func (p *parser) parseAnd() (node, error) {
	left, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !p.symbol("&&") && !p.keyword("and") {
			return left, nil
		}
		right, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		left = andNode{left, right}
	}
}

func (p *parser) parseNot() (node, error) {
	p.skipSpace()
	if p.eof() {
		return nil, p.errorf(p.pos, "expected an expression but found end of expression")
	}
	if p.symbol("!") || p.keyword("not") {
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	}
	if p.symbol("(") {
		open := p.pos - 1
		x, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if !p.symbol(")") {
			if p.eof() {
				return nil, p.errorf(open, "parenthesis is never closed")
			}
			return nil, p.errorf(p.pos, "expected ) but found %q", p.word())
		}
		return x, nil
	}
	return p.parseComparison()
}

func (p *parser) parseComparison() (node, error) {
	start := p.pos
	for !p.eof() && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	name := p.src[start:p.pos]
	c := &comparison{}
	switch {
	case name == "":
		return nil, p.errorf(start, "expected a subject but found %q", p.word())
	case strings.HasPrefix(name, "attribute:"):
		c.subject, c.name = Attribute, strings.TrimPrefix(name, "attribute:")
		if c.name == "" {
			return nil, p.errorf(start, "attribute subject needs a name, as in attribute:ecs.instance-type")
		}
	default:
		s, ok := subjectNames[name]
		if !ok {
			return nil, p.errorf(start, "unknown subject %q; expected agentConnected, agentVersion, attribute:NAME, ec2InstanceId, registeredAt, runningTasksCount or task:group", name)
		}
		c.subject = s
	}
	if c.subject == TaskGroup || c.subject == RunningTasksCount {
		p.tasks = true
	}

	p.skipSpace()
	opPos := p.pos
	op, err := p.parseOperator()
	if err != nil {
		return nil, err
	}
	if ops, limited := allowed[c.subject]; limited && !slices.Contains(ops, op) {
		return nil, p.errorf(opPos, "operator %s cannot be used with %s", op, name)
	}
	c.op = op
	if pos, neg := op.negative(); neg {
		c.op, c.negate = pos, true
	}
	if c.op == Exists {
		return c, nil
	}

	p.skipSpace()
	argPos := p.pos
	if c.op == In {
		list, err := p.parseList()
		if err != nil {
			return nil, err
		}
		c.list = list
		c.match = c.matchIn
		return c, nil
	}
	arg, err := p.parseValue(c.op == Matches)
	if err != nil {
		return nil, err
	}
	if err := c.setArgument(arg); err != nil {
		return nil, p.errorf(argPos, "%s", err)
	}
	return c, nil
}

func (p *parser) parseOperator() (Operator, error) {
	start := p.pos
	for _, sym := range []struct {
		text string
		op   Operator
	}{
		{"==", Equals}, {"!=", NotEquals}, {">=", GreaterThanEqual}, {"<=", LessThanEqual},
		{">", GreaterThan}, {"<", LessThan}, {"=~", Matches}, {"!~", NotMatches},
	} {
		if p.symbol(sym.text) {
			return sym.op, nil
		}
	}
	if p.keyword("!exists") {
		return NotExists, nil
	}
	if p.keyword("!in") {
		return NotIn, nil
	}
	for !p.eof() && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	if op, ok := operatorWords[p.src[start:p.pos]]; ok {
		return op, nil
	}
	p.pos = start
	return 0, p.errorf(start, "expected an operator (==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~) but found %q", p.word())
}

// parseValue reads one argument: a quoted string, or a bare word that ends at
// white space, a parenthesis, bracket or comma, or && / ||. A regular
// expression is read up to white space or &&, keeping balanced parentheses so that
// `(a|b)` is one pattern while the ) closing an enclosing group is not
// swallowed. Parentheses that the pattern escapes (`\(`) or holds in a
// character class (`[()]`) are the pattern's own characters, not groups.
func (p *parser) parseValue(regex bool) (string, error) {
	if p.eof() {
		return "", p.errorf(p.pos, "expected an argument but found end of expression")
	}
	if q := p.src[p.pos]; q == '\'' || q == '"' {
		end := strings.IndexByte(p.src[p.pos+1:], q)
		if end < 0 {
			return "", p.errorf(p.pos, "quoted argument is never closed")
		}
		v := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return v, nil
	}
	start := p.pos
	if regex {
		p.pos = regexEnd(p.src, p.pos)
	} else {
		for !p.eof() {
			c := p.src[p.pos]
			if isSpace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == ',' ||
				strings.HasPrefix(p.src[p.pos:], "&&") || strings.HasPrefix(p.src[p.pos:], "||") {
				break
			}
			p.pos++
		}
	}
	if p.pos == start {
		return "", p.errorf(start, "expected an argument but found %q", p.word())
	}
	return p.src[start:p.pos], nil
}

// regexEnd returns where a bare regular expression that begins at start
// ends: at white space, at &&, or at a ) that closes no group of its own.
func regexEnd(src string, start int) int {
	depth := 0
	inClass := false // inside [...], where ( and ) are plain characters
	i := start
	for i < len(src) {
		c := src[i]
		if isSpace(c) || (!inClass && strings.HasPrefix(src[i:], "&&")) {
			break
		}
		switch {
		case c == '\\':
			i++ // the escaped character is the pattern's, whatever it is
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			// A ] first in the class, after an optional ^, is a member.
			if strings.HasPrefix(src[i+1:], "^") {
				i++
			}
			if strings.HasPrefix(src[i+1:], "]") {
				i++
			}
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return i
			}
			depth--
		}
		i++
	}
	return min(i, len(src))
}

func (p *parser) parseList() ([]string, error) {
	if !p.symbol("[") {
		return nil, p.errorf(p.pos, "expected an argument list such as [a, b] but found %q", p.word())
	}
	open := p.pos - 1
	var list []string
	for {
		p.skipSpace()
		if p.eof() {
			return nil, p.errorf(open, "argument list is never closed")
		}
		if p.symbol("]") {
			if len(list) == 0 {
				return nil, p.errorf(open, "argument list is empty")
			}
			return list, nil
		}
		if len(list) > 0 {
			if !p.symbol(",") {
				return nil, p.errorf(p.pos, "expected , or ] in argument list but found %q", p.word())
			}
			p.skipSpace()
		}
		v, err := p.parseValue(false)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
}

// registeredAt accepts these layouts, as the ECS developer guide lists them.
var dateLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"}

// setArgument converts the argument of a single-valued comparison to the
// subject's type.
func (c *comparison) setArgument(arg string) error {
	c.str = arg
	switch {
	case c.op == Matches:
		re, err := regexp.Compile(`^(?:` + arg + `)$`)
		if err != nil {
			return fmt.Errorf("invalid regular expression %q: %w", arg, err)
		}
		c.re = re
		c.match = re.MatchString
		return nil
	case c.subject == AgentVersion:
		v, ok := parseVersion(arg)
		if !ok {
			return fmt.Errorf("agentVersion needs a version such as 1.80.0, not %q", arg)
		}
		c.version = v
	case c.subject == RegisteredAt:
		for i, layout := range dateLayouts {
			if t, err := time.Parse(layout, arg); err == nil {
				c.when, c.dateOnly = t, i == len(dateLayouts)-1
				return nil
			}
		}
		return fmt.Errorf("registeredAt needs a date such as 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, 2018-06-18T22:28:28 or 2018-06-18, not %q", arg)
	case c.subject == RunningTasksCount:
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return fmt.Errorf("runningTasksCount needs a whole number, not %q", arg)
		}
		c.count = n
	}
	c.match = c.matchEquals
	return nil
}

// parseVersion reads a dotted version such as 1.80.0; a leading v is allowed.
func parseVersion(s string) ([]int, bool) {
	s = strings.TrimPrefix(s, "v")
	if s == "" {
		return nil, false
	}
	parts := strings.Split(s, ".")
	v := make([]int, len(parts))
	for i, part := range parts {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, false
		}
		v[i] = n
	}
	return v, true
}

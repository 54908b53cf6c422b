package taskdef

// Options says how a definition is checked.
type Options struct {
	// LaunchType is EC2 or FARGATE. Empty means the definition's own
	// requiresCompatibilities decide: FARGATE when it names FARGATE alone,
	// else EC2. FARGATE applies Fargate's rules whatever the definition says.
	LaunchType string
}

// Load decodes, validates and normalises one task definition. It returns an
// error only when the input is not a JSON object at all (*InputError); a
// definition that breaks ECS's rules yields a nil Normalized and a Report
// whose Errors say why.
func Load(data []byte, opts Options) (*Normalized, *Report, error) {
	doc, err := Decode(data)
	if err != nil {
		return nil, nil, err
	}
	report := Check(doc, opts)
	if !report.Valid() {
		return nil, report, nil
	}
	return report.task, report, nil
}

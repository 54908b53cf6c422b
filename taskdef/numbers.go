package taskdef

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
)

// ECS's integer parameters are 32-bit: the API model types every one of
// them Integer.
const (
	minInteger = math.MinInt32
	maxInteger = math.MaxInt32
)

// numberProblems finds the values of integer fields that are not integers
// ECS takes: a number written with a fraction or an exponent (6.4e1, 1e400),
// which the AWS CLI reads as a float and refuses before sending, and an
// integer outside the 32-bit range of ECS's Integer. It walks the document
// alongside the model's types, as unknownFields does; the messages are the
// AWS CLI's parameter validation's, naming the parameter as it does.
func (d *Document) numberProblems() []Problem {
	var out []Problem
	var walk func(v any, t reflect.Type, ptr, param string)
	walk = func(v any, t reflect.Type, ptr, param string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			obj, ok := v.(map[string]any)
			if !ok {
				return
			}
			fields := fieldsOf(t)
			for k, e := range obj {
				if ft, ok := fields[k]; ok {
					walk(e, ft, ptr+"/"+escapePointer(k), joinParam(param, k))
				}
			}
		case reflect.Slice:
			arr, ok := v.([]any)
			if !ok {
				return
			}
			for i, e := range arr {
				walk(e, t.Elem(), ptr+"/"+strconv.Itoa(i), param+"["+strconv.Itoa(i)+"]")
			}
		case reflect.Int, reflect.Int32, reflect.Int64:
			if n, ok := v.(json.Number); ok {
				if p, bad := d.integerProblem(n, ptr, param); bad {
					out = append(out, p)
				}
			}
		}
	}
	walk(d.root, typeOfTaskDefinition, "", "")
	return out
}

func joinParam(param, field string) string {
	if param == "" {
		return field
	}
	return param + "." + field
}

// integerProblem judges one number given for an integer parameter.
func (d *Document) integerProblem(n json.Number, ptr, param string) (Problem, bool) {
	s := n.String()
	if strings.ContainsAny(s, ".eE") {
		// JSON parsers of the AWS CLI and SDKs read these as floats, whatever
		// their value, and the parameter validation refuses a float.
		return d.at(ptr, "integer-type", fmt.Sprintf("Invalid type for parameter %s, value: %s, type: <class 'float'>, valid types: <class 'int'>", param, s)), true
	}
	v, ok := new(big.Int).SetString(s, 10)
	switch {
	case !ok:
		return Problem{}, false // not a JSON integer: the decoder would have refused it
	case v.Cmp(big.NewInt(maxInteger)) > 0:
		return d.at(ptr, "integer-range", fmt.Sprintf("Invalid value for parameter %s, value: %s, valid max value: %d", param, s, maxInteger)), true
	case v.Cmp(big.NewInt(minInteger)) < 0:
		return d.at(ptr, "integer-range", fmt.Sprintf("Invalid value for parameter %s, value: %s, valid min value: %d", param, s, minInteger)), true
	}
	return Problem{}, false
}

// withoutPointers drops the problems at the pointers of others: a number
// reported as no integer needs no schema error besides.
func withoutPointers(ps, others []Problem) []Problem {
	if len(others) == 0 {
		return ps
	}
	taken := make(map[string]bool, len(others))
	for _, o := range others {
		taken[o.Pointer] = true
	}
	out := ps[:0]
	for _, p := range ps {
		if !taken[p.Pointer] {
			out = append(out, p)
		}
	}
	return out
}

package main

import (
	"fmt"
)

// pullPolicyMissing reads pull --policy: "missing" leaves out the images
// containerd already has; "always" (or none) pulls them all.
func pullPolicyMissing(policy string) (bool, error) {
	switch policy {
	case "", "always":
		return false, nil
	case "missing":
		return true, nil
	}
	return false, usageErr{fmt.Errorf("invalid --policy %q: use missing or always", policy)}
}

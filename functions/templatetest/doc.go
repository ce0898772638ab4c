// Package templatetest checks template.yaml, the SAM template of the split
// deployment, against the code it deploys: the functions and their build targets,
// the state table schema of core/dynamo, the routes of the API, and the security
// rules of the design (least privilege, encryption, dead-letter queues). It has
// tests only.
package templatetest

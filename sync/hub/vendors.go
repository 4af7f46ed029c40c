package hub

import (
	"fmt"

	"github.com/omnitray/omnitray/sync/chaport"
	"github.com/omnitray/omnitray/sync/omnidesk"
)

// Vendors are the endpoints and credentials of the two services a hub talks
// to: the real ones from the environment, or a sandbox's.
type Vendors struct {
	OmnideskURL, OmnideskEmail, OmnideskAPIKey string
	ChaportURL, ChaportToken                   string
}

// Clients builds the Omnidesk and Chaport clients the way fc says to talk to
// them (the unconfirmed status-write and body field names).
func (v Vendors) Clients(fc FileConfig) (*omnidesk.Client, *chaport.Client, error) {
	od, err := omnidesk.New(omnidesk.Config{BaseURL: v.OmnideskURL, Email: v.OmnideskEmail,
		APIKey: v.OmnideskAPIKey, StatusWrite: omnidesk.StatusWrite(fc.Omnidesk.StatusWrite)})
	if err != nil {
		return nil, nil, fmt.Errorf("setting up the Omnidesk client: %w", err)
	}
	cp, err := chaport.New(chaport.Config{BaseURL: v.ChaportURL, Token: v.ChaportToken,
		StatusField: fc.Chaport.StatusField, TTLField: fc.Chaport.TTLField,
		UntilField: fc.Chaport.UntilField, EventTimeField: fc.Chaport.EventTimeField})
	if err != nil {
		return nil, nil, fmt.Errorf("setting up the Chaport client: %w", err)
	}
	return od, cp, nil
}

package feed

import "github.com/omnitray/omnitray/sync/rules"

// CatalogueOf reads the wire's status list as the rules do: the one
// conversion from the feed's form of the catalogue to the decision's. The
// hub sends chat access already decided by its mapping; the rules still
// pin the built-in statuses, so a list that disagrees cannot put an
// operator online under Omnidesk's Offline.
func CatalogueOf(sts []Status) rules.Catalogue {
	names := make(map[int64]string, len(sts))
	access := make(map[int64]bool, len(sts))
	for _, s := range sts {
		names[s.ID], access[s.ID] = s.Name, s.ChatAccess
	}
	return rules.BuildCatalogue(names, access)
}

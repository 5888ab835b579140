package azureprice

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Page is one page of the Retail Prices API.
type Page struct {
	BillingCurrency string `json:"BillingCurrency"`
	Items           []Item `json:"Items"`
	NextPageLink    string `json:"NextPageLink"`
	Count           int    `json:"Count"`
}

// Item is one meter's price.
type Item struct {
	CurrencyCode       string  `json:"currencyCode"`
	RetailPrice        float64 `json:"retailPrice"`
	UnitPrice          float64 `json:"unitPrice"`
	ArmRegionName      string  `json:"armRegionName"`
	Location           string  `json:"location"`
	EffectiveStartDate string  `json:"effectiveStartDate"`
	MeterName          string  `json:"meterName"`
	ProductName        string  `json:"productName"`
	SkuName            string  `json:"skuName"`
	ServiceName        string  `json:"serviceName"`
	UnitOfMeasure      string  `json:"unitOfMeasure"`
	Type               string  `json:"type"`
	ArmSkuName         string  `json:"armSkuName"`
}

// ParsePage decodes a page.
func ParsePage(data []byte) (Page, error) {
	var p Page
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("decoding retail prices page: %w", err)
	}
	return p, nil
}

// Meter kinds of an item.
const (
	meterOnDemand = "on-demand"
	meterSpot     = "spot"
)

// Kind classifies an item: on-demand or spot Linux consumption by the hour,
// or "" for what the catalog does not price (Windows, Low Priority,
// reservations, dev/test, other units or currencies).
func (it *Item) Kind() string {
	if it.Type != "Consumption" || it.ServiceName != "Virtual Machines" || it.ArmSkuName == "" || it.ArmRegionName == "" {
		return ""
	}
	if it.UnitOfMeasure != "1 Hour" || it.CurrencyCode != "USD" || !(it.RetailPrice > 0) || it.RetailPrice > 1e6 {
		return ""
	}
	if strings.Contains(it.ProductName, "Windows") || strings.Contains(it.SkuName, "Low Priority") || strings.Contains(it.MeterName, "Low Priority") {
		return ""
	}
	if strings.HasSuffix(it.SkuName, " Spot") || strings.HasSuffix(it.MeterName, " Spot") {
		return meterSpot
	}
	return meterOnDemand
}

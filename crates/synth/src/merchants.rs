//! Merchant categories (MCC, channel, amount distribution, share of spend) and the merchant
//! population spread over the countries.

use std::collections::BTreeMap;

use rand::Rng;

use crate::countries::COUNTRIES;

/// How a category's transactions reach the bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Card present at a physical merchant.
    Physical,
    /// Card not present (e-commerce, subscriptions, bills).
    Online,
    Atm,
    Transfer,
}

impl Kind {
    pub(crate) fn channel(self) -> &'static str {
        match self {
            Kind::Physical => "card_present",
            Kind::Online => "online",
            Kind::Atm => "atm",
            Kind::Transfer => "transfer",
        }
    }
}

pub(crate) struct Category {
    pub mccs: &'static [u16],
    pub kind: Kind,
    /// Share of an ordinary customer's transactions (relative weight).
    pub weight: f64,
    /// Median amount in EUR for a customer of spend level 1.
    pub median_eur: f64,
    /// Log-normal sigma of the amount.
    pub sigma: f64,
    pub brands: &'static [&'static str],
}

/// Indexes into [`CATEGORIES`] (the full list, whether or not the code names each one).
#[allow(
    dead_code,
    reason = "the full index list mirrors CATEGORIES; not every category is named in code"
)]
pub(crate) mod cat {
    pub const GROCERIES: usize = 0;
    pub const RESTAURANTS: usize = 1;
    pub const FAST_FOOD: usize = 2;
    pub const FUEL: usize = 3;
    pub const PHARMACY: usize = 4;
    pub const CLOTHING: usize = 5;
    pub const DEPARTMENT: usize = 6;
    pub const ELECTRONICS: usize = 7;
    pub const TRANSPORT: usize = 8;
    pub const HOTELS: usize = 9;
    pub const AIRLINES: usize = 10;
    pub const ONLINE_RETAIL: usize = 11;
    pub const BOOKS: usize = 12;
    pub const DIGITAL: usize = 13;
    pub const UTILITIES: usize = 14;
    pub const STREAMING: usize = 15;
    pub const ATM: usize = 16;
    pub const TRANSFERS: usize = 17;
}

pub(crate) const CATEGORIES: &[Category] = &[
    Category {
        mccs: &[5411],
        kind: Kind::Physical,
        weight: 22.0,
        median_eur: 32.0,
        sigma: 0.6,
        brands: &[
            "FreshMart",
            "Green Basket",
            "Daily Harvest",
            "Corner Grocer",
            "MarketPlus",
            "Nordfood",
        ],
    },
    Category {
        mccs: &[5812, 5813],
        kind: Kind::Physical,
        weight: 12.0,
        median_eur: 28.0,
        sigma: 0.55,
        brands: &[
            "Trattoria Luna",
            "The Golden Fork",
            "Bistro Central",
            "Sakura House",
            "El Patio",
            "Blue Door Kitchen",
        ],
    },
    Category {
        mccs: &[5814],
        kind: Kind::Physical,
        weight: 8.0,
        median_eur: 11.0,
        sigma: 0.45,
        brands: &["Burger Barn", "Quick Bite", "Noodle Box", "Kebab Corner"],
    },
    Category {
        mccs: &[5541, 5542],
        kind: Kind::Physical,
        weight: 7.0,
        median_eur: 55.0,
        sigma: 0.35,
        brands: &["PetroLine", "FuelStop", "Eurofuel", "RoadStar Energy"],
    },
    Category {
        mccs: &[5912],
        kind: Kind::Physical,
        weight: 4.0,
        median_eur: 18.0,
        sigma: 0.6,
        brands: &[
            "HealthPoint Pharmacy",
            "Apotheke Sonne",
            "CarePlus Chemist",
            "Farmacia Verde",
        ],
    },
    Category {
        mccs: &[5651, 5691],
        kind: Kind::Physical,
        weight: 4.0,
        median_eur: 55.0,
        sigma: 0.55,
        brands: &["Urban Threads", "Nordic Wear", "Moda Bella", "DenimWorks"],
    },
    Category {
        mccs: &[5311],
        kind: Kind::Physical,
        weight: 2.0,
        median_eur: 45.0,
        sigma: 0.6,
        brands: &["Galeria Grand", "City Department Store", "Maison Centrale"],
    },
    Category {
        mccs: &[5732],
        kind: Kind::Physical,
        weight: 1.5,
        median_eur: 90.0,
        sigma: 0.6,
        brands: &[
            "Volt Electronics",
            "TechHub",
            "MediaWorld Plaza",
            "Pixel Store",
        ],
    },
    Category {
        mccs: &[4121, 4111],
        kind: Kind::Physical,
        weight: 3.5,
        median_eur: 16.0,
        sigma: 0.5,
        brands: &["City Taxi", "MetroTransit", "RideNow", "Rail Express"],
    },
    Category {
        mccs: &[7011],
        kind: Kind::Physical,
        weight: 0.8,
        median_eur: 120.0,
        sigma: 0.45,
        brands: &[
            "Grand Hotel",
            "Harbour Inn",
            "Hotel Continental",
            "Alpine Lodge",
            "Sunrise Suites",
        ],
    },
    Category {
        mccs: &[4511],
        kind: Kind::Online,
        weight: 0.6,
        median_eur: 180.0,
        sigma: 0.5,
        brands: &[
            "SkyWays",
            "EuroJet",
            "Atlantic Air",
            "Nordic Air",
            "Pacific Wings",
        ],
    },
    Category {
        mccs: &[5999, 5964],
        kind: Kind::Online,
        weight: 8.0,
        median_eur: 35.0,
        sigma: 0.7,
        brands: &["ShopNova", "Parcelly", "BuyWell", "Marketo", "Cartwheel"],
    },
    Category {
        mccs: &[5942],
        kind: Kind::Online,
        weight: 2.0,
        median_eur: 18.0,
        sigma: 0.5,
        brands: &["PageTurner Books", "Bookly", "Chapter and Verse"],
    },
    Category {
        mccs: &[5815, 5816, 5818],
        kind: Kind::Online,
        weight: 4.0,
        median_eur: 7.0,
        sigma: 0.7,
        brands: &["AppVault", "GameCloud", "Tunely", "PlayArc"],
    },
    Category {
        mccs: &[4900, 4814],
        kind: Kind::Online,
        weight: 3.0,
        median_eur: 70.0,
        sigma: 0.4,
        brands: &["CityPower", "AquaNet Water", "GasGrid Energy", "Telco One"],
    },
    Category {
        mccs: &[4899],
        kind: Kind::Online,
        weight: 2.0,
        median_eur: 13.0,
        sigma: 0.3,
        brands: &["StreamFlix", "Vidora", "SoundWave Music"],
    },
    Category {
        mccs: &[6011],
        kind: Kind::Atm,
        weight: 6.0,
        median_eur: 80.0,
        sigma: 0.55,
        brands: &[
            "Sparkasse",
            "First National Bank",
            "Banca Unita",
            "Nordbank",
            "City Savings",
        ],
    },
    Category {
        mccs: &[4829],
        kind: Kind::Transfer,
        weight: 5.0,
        median_eur: 150.0,
        sigma: 0.9,
        brands: &[
            "SEPA Transfer",
            "Wire Transfer",
            "Instant Payment",
            "Standing Order",
        ],
    },
];

#[derive(Clone, Debug)]
pub(crate) struct Merchant {
    pub name: String,
    pub mcc: u16,
    pub cat: usize,
    pub country: usize,
    /// Index into the country's `cities` (meaningful for physical merchants and ATMs).
    pub city: usize,
}

/// All merchants, indexed by category and country.
pub(crate) struct Merchants {
    pub list: Vec<Merchant>,
    /// `by_cat_country[cat][country]`: merchant indexes.
    by_cat_country: Vec<Vec<Vec<u32>>>,
    /// Countries that have at least one merchant of the category.
    countries_with: Vec<Vec<usize>>,
}

impl Merchants {
    /// Builds at least one merchant per (category, country) and then fills up to `target`
    /// merchants, placing the extra ones in proportion to category share and population.
    pub(crate) fn build<R: Rng>(rng: &mut R, target: usize) -> Merchants {
        let mut list = Vec::with_capacity(target);
        let mut names: BTreeMap<String, u32> = BTreeMap::new();
        for cat in 0..CATEGORIES.len() {
            for country in 0..COUNTRIES.len() {
                list.push(make(rng, &mut names, cat, country));
            }
        }
        let cat_weights: Vec<f64> = CATEGORIES.iter().map(|c| c.weight).collect();
        let country_weights: Vec<f64> = COUNTRIES
            .iter()
            .map(|c| c.home_weight + 0.3 * c.travel_weight)
            .collect();
        while list.len() < target {
            let cat = pick_weighted(rng, &cat_weights);
            let country = pick_weighted(rng, &country_weights);
            list.push(make(rng, &mut names, cat, country));
        }
        let mut by_cat_country = vec![vec![Vec::new(); COUNTRIES.len()]; CATEGORIES.len()];
        for (i, m) in list.iter().enumerate() {
            by_cat_country[m.cat][m.country].push(i as u32);
        }
        let countries_with = by_cat_country
            .iter()
            .map(|per_country| {
                per_country
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        Merchants {
            list,
            by_cat_country,
            countries_with,
        }
    }

    /// Merchants of a category in a country (never empty: every pair is covered).
    pub(crate) fn in_country(&self, cat: usize, country: usize) -> &[u32] {
        &self.by_cat_country[cat][country]
    }

    /// A merchant of the category in a random country that has one.
    pub(crate) fn anywhere<R: Rng>(&self, rng: &mut R, cat: usize) -> usize {
        let countries = &self.countries_with[cat];
        let country = countries[rng.gen_range(0..countries.len())];
        let list = self.in_country(cat, country);
        list[rng.gen_range(0..list.len())] as usize
    }

    /// A merchant of the category in the country, in `city` when it has one there;
    /// `favourite` (an account-specific number) makes the same customer return to the same
    /// few merchants.
    pub(crate) fn pick<R: Rng>(
        &self,
        rng: &mut R,
        cat: usize,
        country: usize,
        city: Option<usize>,
        favourite: Option<u64>,
    ) -> usize {
        let all = self.in_country(cat, country);
        let in_city = |i: &&u32| city.is_none_or(|c| self.list[**i as usize].city == c);
        let mut n = all.iter().filter(in_city).count();
        let restrict = n > 0;
        if !restrict {
            n = all.len();
        }
        let k = match favourite {
            Some(f) => (f.wrapping_add(rng.gen_range(0..3u64) * 7919) % n as u64) as usize,
            None => rng.gen_range(0..n),
        };
        let chosen = if restrict {
            all.iter().filter(in_city).nth(k)
        } else {
            all.get(k)
        };
        chosen.map_or(all[0] as usize, |i| *i as usize)
    }
}

fn make<R: Rng>(
    rng: &mut R,
    names: &mut BTreeMap<String, u32>,
    cat: usize,
    country: usize,
) -> Merchant {
    let c = &CATEGORIES[cat];
    let k = &COUNTRIES[country];
    let brand = c.brands[rng.gen_range(0..c.brands.len())];
    let city_index = rng.gen_range(0..k.cities.len());
    let city = k.cities[city_index];
    let base = match c.kind {
        Kind::Physical => format!("{brand} {city}"),
        Kind::Online => format!("{brand}.{}", k.tld),
        Kind::Atm => format!("ATM {brand} {city}"),
        Kind::Transfer => format!("{brand} {}", k.code),
    };
    let seen = names.entry(base.clone()).or_insert(0);
    *seen += 1;
    let name = if *seen == 1 {
        base
    } else {
        format!("{base} {:03}", *seen)
    };
    Merchant {
        name,
        mcc: c.mccs[rng.gen_range(0..c.mccs.len())],
        cat,
        country,
        city: city_index,
    }
}

/// Index drawn with probability proportional to `weights` (all >= 0, some > 0).
pub(crate) fn pick_weighted<R: Rng>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

//! The WAN section's contacts: 1000 different persons, deterministic from a seed, shaped as
//! the People API returns them (every field entry with its `metadata.source`, person-level
//! `metadata.sources` with etags and update times), with a varying number of emails, phones,
//! addresses, organizations, memberships and a biography of varying length, so that the
//! page compresses as real data does rather than as one person repeated.
//!
//! The server and the client processes call [`persons`] with the same seed: the server to
//! answer, the clients to know which resource names exist and what to send back in
//! `updateContact`.

use serde_json::{json, Value};

pub const PERSONS: usize = 1000;

const GIVEN: &[&str] = &[
    "Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "José", "Zoë",
    "Łukasz", "Søren", "Aiko", "Hiroshi", "Priya", "Arjun", "Fatima", "Omar", "Chidi", "Ngozi", "Mateo", "Lucía",
    "Björn", "Ingrid", "Nikolai", "Olga", "Wei", "Mei", "Jae-won", "Min-ji", "Thandiwe", "Kwame", "Aroha", "Tāne",
    "Élodie", "François", "Giulia", "Lorenzo", "Ayşe", "Mehmet", "Noa", "Yosef", "Siobhán", "Ciarán", "Anaïs",
    "Dmitri", "Leilani", "Kai", "Amara", "Tomás", "Paulina", "Rahul", "Sun", "Ana", "Pedro", "Marta", "Jonas",
];
const FAMILY: &[&str] = &[
    "Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
    "García", "Müller", "Kowalski", "Kierkegaard", "Tanaka", "Yamamoto", "Sharma", "Patel", "Haddad", "Benali",
    "Okafor", "Adeyemi", "Fernández", "López", "Andersson", "Nilsen", "Ivanov", "Petrova", "Zhang", "Li", "Kim",
    "Park", "Dlamini", "Mensah", "Ngata", "Dubois", "Rossi", "Bianchi", "Yılmaz", "Cohen", "Levi", "O'Brien",
    "Ní Bhriain", "Nakamura", "Kahananui", "Silva", "Nowak", "Gupta", "Nguyen", "Van der Berg", "de la Cruz",
];
const COMPANIES: &[&str] = &[
    "Acme Corporation", "Globex", "Initech", "Umbrella Research", "Stark Industries", "Wayne Enterprises",
    "Hooli", "Pied Piper", "Tyrell Corporation", "Cyberdyne Systems", "Soylent", "Wonka Industries",
    "Oceanic Airlines", "Vandelay Industries", "Gringotts", "Monsters, Inc.", "Aperture Science", "Black Mesa",
];
const TITLES: &[&str] = &[
    "Software Engineer", "Senior Software Engineer", "Engineering Manager", "Product Manager", "Designer",
    "Data Scientist", "Head of Sales", "Accountant", "Chief Executive Officer", "Research Scientist",
    "Site Reliability Engineer", "Customer Success Lead", "Recruiter", "Legal Counsel", "Intern",
];
const DEPARTMENTS: &[&str] = &["Engineering", "Sales", "Finance", "Research", "Operations", "Legal", "Marketing"];
const STREETS: &[&str] = &[
    "Main Street", "High Street", "Rue de Rivoli", "Calle Mayor", "Hauptstraße", "Amphitheatre Parkway",
    "Baker Street", "Via Roma", "Nevsky Prospekt", "Shibuya Crossing", "Queen Street", "Elm Street",
];
const CITIES: &[(&str, &str, &str, &str, &str)] = &[
    ("Mountain View", "CA", "94043", "United States", "US"),
    ("London", "", "NW1 6XE", "United Kingdom", "GB"),
    ("Paris", "Île-de-France", "75001", "France", "FR"),
    ("Madrid", "", "28013", "Spain", "ES"),
    ("Berlin", "", "10115", "Germany", "DE"),
    ("Tokyo", "Tokyo", "150-0002", "Japan", "JP"),
    ("Lagos", "Lagos", "100001", "Nigeria", "NG"),
    ("Auckland", "", "1010", "New Zealand", "NZ"),
    ("Bengaluru", "Karnataka", "560001", "India", "IN"),
    ("São Paulo", "SP", "01310-000", "Brazil", "BR"),
];
const WORDS: &[&str] = &[
    "met", "at", "the", "conference", "in", "about", "distributed", "systems", "and", "coffee", "prefers", "email",
    "call", "after", "lunch", "introduced", "by", "former", "colleague", "project", "lead", "for", "migration",
    "birthday", "gift", "ideas", "books", "hiking", "remember", "ask", "kids", "names", "vegetarian", "allergic",
    "to", "peanuts", "speaks", "Spanish", "Japanese", "plays", "cello", "runs", "marathons", "board", "member",
];
const EMAIL_DOMAINS: &[&str] = &["gmail.com", "example.com", "example.org", "mail.example.net", "outlook.example"];
const SOURCE_TYPES: &[&str] = &["CONTACT", "PROFILE"];

/// The persons of `seed`, in list order; person `i` has resource name `people/c…` from
/// [`resource_name`].
pub fn persons(seed: u64) -> Vec<Value> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..PERSONS).map(|i| person(&mut rng, i)).collect()
}

/// The ids look like Google's (decimal, up to 19 digits) and are unique by construction.
pub fn resource_name(i: usize) -> String {
    format!("people/c{}", 3_141_592_653_589_793u64 + (i as u64) * 2_718_281_828_459)
}

fn pick<'a>(rng: &mut fastrand::Rng, from: &[&'a str]) -> &'a str {
    from[rng.usize(..from.len())]
}

fn token(rng: &mut fastrand::Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len).map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char).collect()
}

fn hex(rng: &mut fastrand::Rng, len: usize) -> String {
    (0..len).map(|_| char::from_digit(rng.u32(..16), 16).unwrap_or('0')).collect()
}

fn timestamp(rng: &mut fastrand::Rng) -> String {
    format!(
        "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        rng.u32(12..26),
        rng.u32(1..13),
        rng.u32(1..29),
        rng.u32(0..24),
        rng.u32(0..60),
        rng.u32(0..60),
        rng.u32(0..1000)
    )
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => Some(c.to_ascii_lowercase()),
            'é' | 'è' | 'É' => Some('e'),
            'ü' | 'ú' => Some('u'),
            'ö' | 'ø' | 'ó' => Some('o'),
            'á' | 'ä' | 'ā' => Some('a'),
            'í' | 'ı' | 'ï' => Some('i'),
            'ñ' => Some('n'),
            'ç' => Some('c'),
            'ş' => Some('s'),
            'ł' | 'Ł' => Some('l'),
            _ => None,
        })
        .collect()
}

/// An entry's `metadata`, pointing at the person's contact source.
fn field_metadata(primary: bool, contact_id: &str) -> Value {
    let mut m = json!({ "source": { "type": "CONTACT", "id": contact_id } });
    if primary {
        m["primary"] = true.into();
        m["sourcePrimary"] = true.into();
    }
    m
}

fn person(rng: &mut fastrand::Rng, i: usize) -> Value {
    let contact_id = hex(rng, 16);
    let given = pick(rng, GIVEN);
    let family = pick(rng, FAMILY);
    let middle = if rng.u8(..4) == 0 { Some(pick(rng, GIVEN)) } else { None };
    let display = match middle {
        Some(m) => format!("{given} {m} {family}"),
        None => format!("{given} {family}"),
    };
    let mut name = json!({
        "metadata": field_metadata(true, &contact_id),
        "displayName": display,
        "familyName": family,
        "givenName": given,
        "displayNameLastFirst": format!("{family}, {given}"),
        "unstructuredName": display,
    });
    if let Some(m) = middle {
        name["middleName"] = m.into();
    }

    let mut sources = vec![json!({
        "type": "CONTACT",
        "id": contact_id,
        "etag": format!("#{}", token(rng, 12)),
        "updateTime": timestamp(rng),
    })];
    if rng.u8(..3) == 0 {
        sources.push(json!({
            "type": pick(rng, SOURCE_TYPES),
            "id": format!("1{}", (0..20).map(|_| char::from_digit(rng.u32(..10), 10).unwrap_or('0')).collect::<String>()),
            "etag": format!("#{}", token(rng, 12)),
            "profileMetadata": { "objectType": "PERSON", "userTypes": ["GOOGLE_USER"] },
            "updateTime": timestamp(rng),
        }));
    }

    let local = format!("{}.{}", ascii_lower(given), ascii_lower(family));
    let emails: Vec<Value> = (0..rng.usize(0..4))
        .map(|k| {
            let kind = ["home", "work", "other"][rng.usize(..3)];
            json!({
                "metadata": field_metadata(k == 0, &contact_id),
                "value": format!("{local}{}@{}", if k == 0 { String::new() } else { k.to_string() }, pick(rng, EMAIL_DOMAINS)),
                "type": kind,
                "formattedType": capitalize(kind),
            })
        })
        .collect();
    let phones: Vec<Value> = (0..rng.usize(0..4))
        .map(|k| {
            let (area, number) = (rng.u32(200..999), rng.u32(0..10_000));
            let kind = ["mobile", "home", "work", "main"][rng.usize(..4)];
            json!({
                "metadata": field_metadata(k == 0, &contact_id),
                "value": format!("({area}) 555-{number:04}"),
                "canonicalForm": format!("+1{area}555{number:04}"),
                "type": kind,
                "formattedType": capitalize(kind),
            })
        })
        .collect();
    let addresses: Vec<Value> = (0..[0, 0, 1, 1, 1, 2][rng.usize(..6)])
        .map(|k| {
            let (city, region, postal, country, code) = CITIES[rng.usize(..CITIES.len())];
            let street = format!("{} {}", rng.u32(1..2000), pick(rng, STREETS));
            let kind = ["home", "work"][rng.usize(..2)];
            let formatted = if region.is_empty() {
                format!("{street}\n{postal} {city}\n{country}")
            } else {
                format!("{street}\n{city}, {region} {postal}\n{country}")
            };
            let mut a = json!({
                "metadata": field_metadata(k == 0, &contact_id),
                "formattedValue": formatted,
                "type": kind,
                "formattedType": capitalize(kind),
                "streetAddress": street,
                "city": city,
                "postalCode": postal,
                "country": country,
                "countryCode": code,
            });
            if !region.is_empty() {
                a["region"] = region.into();
            }
            a
        })
        .collect();
    let organizations: Vec<Value> = (0..[0, 1, 1, 1, 2][rng.usize(..5)])
        .map(|k| {
            let mut o = json!({
                "metadata": field_metadata(k == 0, &contact_id),
                "type": "work",
                "formattedType": "Work",
                "name": pick(rng, COMPANIES),
                "title": pick(rng, TITLES),
                "current": k == 0,
            });
            if rng.bool() {
                o["department"] = pick(rng, DEPARTMENTS).into();
            }
            if k > 0 {
                o["startDate"] = json!({ "year": rng.i32(1995..2015), "month": rng.i32(1..13) });
                o["endDate"] = json!({ "year": rng.i32(2015..2024), "month": rng.i32(1..13) });
            }
            o
        })
        .collect();
    let memberships: Vec<Value> = std::iter::once("myContacts".to_owned())
        .chain((0..rng.usize(0..3)).map(|_| hex(rng, 12)))
        .map(|group| {
            json!({
                "metadata": { "source": { "type": "CONTACT", "id": contact_id } },
                "contactGroupMembership": {
                    "contactGroupId": group,
                    "contactGroupResourceName": format!("contactGroups/{group}"),
                },
            })
        })
        .collect();

    let etag_len = 28 + rng.usize(0..12);
    let mut p = json!({
        "resourceName": resource_name(i),
        "etag": format!("%Eg{}", token(rng, etag_len)),
        "metadata": { "sources": sources, "objectType": "PERSON" },
        "names": [name],
        "photos": [{
            "metadata": field_metadata(true, &contact_id),
            "url": format!("https://lh3.googleusercontent.com/cm/{}=s100", token(rng, 60).replace('/', "_").replace('+', "-")),
            "default": true,
        }],
        "memberships": memberships,
    });
    let obj = p.as_object_mut().expect("object");
    for (key, list) in
        [("emailAddresses", emails), ("phoneNumbers", phones), ("addresses", addresses), ("organizations", organizations)]
    {
        if !list.is_empty() {
            obj.insert(key.to_owned(), list.into());
        }
    }
    if rng.u8(..3) == 0 {
        obj.insert(
            "birthdays".to_owned(),
            json!([{
                "metadata": field_metadata(true, &contact_id),
                "date": { "year": rng.i32(1940..2010), "month": rng.i32(1..13), "day": rng.i32(1..29) },
            }]),
        );
    }
    if rng.u8(..4) == 0 {
        obj.insert(
            "urls".to_owned(),
            json!([{
                "metadata": field_metadata(true, &contact_id),
                "value": format!("https://{}.example.com/", ascii_lower(family)),
                "type": "homePage",
                "formattedType": "Home Page",
            }]),
        );
    }
    if rng.u8(..5) == 0 {
        obj.insert(
            "nicknames".to_owned(),
            json!([{ "metadata": field_metadata(true, &contact_id), "value": given.chars().take(3).collect::<String>() }]),
        );
    }
    if rng.u8(..3) == 0 {
        // Notes are where contact sizes differ most: from a line to a paragraph.
        let words = rng.usize(3..120);
        let text = (0..words).map(|_| pick(rng, WORDS)).collect::<Vec<_>>().join(" ");
        obj.insert(
            "biographies".to_owned(),
            json!([{ "metadata": field_metadata(true, &contact_id), "value": text, "contentType": "TEXT_PLAIN" }]),
        );
    }
    if rng.u8(..6) == 0 {
        obj.insert(
            "relations".to_owned(),
            json!([{
                "metadata": field_metadata(true, &contact_id),
                "person": format!("{} {}", pick(rng, GIVEN), family),
                "type": "spouse",
                "formattedType": "Spouse",
            }]),
        );
    }
    p
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The connections page the server answers with: all persons, as one page.
pub fn connections_page(persons: &[Value]) -> Value {
    json!({
        "connections": persons,
        "totalPeople": persons.len(),
        "totalItems": persons.len(),
        "nextSyncToken": "^CAwQ2aXx0b8yGgQBAgUHIhhTZmhvWmhPWmNUbz0=",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let a = persons(7);
        let b = persons(7);
        assert_eq!(a, b);
        let sizes: Vec<usize> = a.iter().map(|p| serde_json::to_vec(p).unwrap().len()).collect();
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max > &(2 * min), "{min}..{max}");
        let names: std::collections::BTreeSet<_> = a.iter().map(|p| p["resourceName"].to_string()).collect();
        assert_eq!(names.len(), PERSONS);
    }
}

//! DE 43, the card acceptor's name: `ans 40`, printable ASCII only, while
//! merchant names are mostly Cyrillic («ООО «Ромашка»»). Transliterated
//! (Russian and Belarusian letters, the ICAO way passports use), anything
//! else outside ASCII as `?`, then space-padded or cut to 40.

/// The merchant's name as DE 43 carries it: exactly 40 printable ASCII
/// characters.
pub(crate) fn de43(name: &str) -> String {
    let mut out = String::with_capacity(40);
    for c in name.chars() {
        let upper = c.is_uppercase();
        let lower = c.to_lowercase().next().unwrap_or(c);
        let latin: &str = match lower {
            ' '..='~' => {
                out.push(c);
                continue;
            }
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'э' => "e",
            'ё' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'і' => "i",
            'й' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ў' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ъ' => "ie",
            'ы' => "y",
            'ь' => "",
            'ю' => "iu",
            'я' => "ia",
            '«' | '»' | '“' | '”' | '„' => "\"",
            '—' | '–' => "-",
            '№' => "N",
            _ => "?",
        };
        let mut letters = latin.chars();
        if let Some(first) = letters.next() {
            out.push(if upper {
                first.to_ascii_uppercase()
            } else {
                first
            });
            out.extend(letters);
        }
        if out.len() >= 40 {
            break;
        }
    }
    out.truncate(40);
    while out.len() < 40 {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_names_are_transliterated_and_padded_to_40() {
        let name = de43("ООО «Ромашка»");
        assert_eq!(name.len(), 40);
        assert_eq!(name.trim_end(), "OOO \"Romashka\"");
        assert_eq!(de43("ИП Второй").trim_end(), "IP Vtoroi");
        assert!(de43("Кафе 🍰").trim_end().ends_with('?'));
    }

    #[test]
    fn long_names_are_cut_at_40() {
        let name = de43(&"Щ".repeat(30));
        assert_eq!(name.len(), 40);
        assert!(name.bytes().all(|b| (0x20..=0x7E).contains(&b)));
    }
}

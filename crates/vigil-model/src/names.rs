//! Name normalisation: one key for the ways observers write the same person.
//!
//! `Zhanibek Zhunusov`, `ZHUNUSOV Zhanibek` and `Жунусов Жанибек` must count as one
//! named person. The key transliterates Cyrillic (Russian and Kazakh letters) to Latin,
//! lower-cases, folds the spelling variants that transliteration itself produces
//! (`Yerlan`/`Ерлан`, `Kaliyev`/`Калиев`, `Assel`/`Асель`), and sorts the words so
//! that word order does not matter.
//!
//! Text is composed first (NFKC): some phones send `й` as `и` and a combining breve,
//! which would otherwise split a name in two. Kazakh's 2021 Latin alphabet
//! (`Janibek Junusov`, `Qaliev`, `Şarip`) folds to the same keys as the Russian-style
//! transliteration (`Zhanibek Zhunusov`, `Kaliyev`, `Sharip`): `zh`, `dzh` and `j`
//! are one sound, as are `k`/`q` and `kh`/`h`.
//!
//! [`KEY_VERSION`] says which keys the store holds: when the folding changes, a
//! vault rebuilds its name projections on open.

use unicode_normalization::UnicodeNormalization;

/// The version of [`name_key`]'s folding; stored keys of another version are
/// recomputed.
pub const KEY_VERSION: u32 = 2;

/// The normalised key of a person's name. Two spellings of one name give one key.
pub fn name_key(name: &str) -> String {
    let mut words = key_words(name);
    words.sort_unstable();
    words.join(" ")
}

/// The folded words of a name, in the order written.
pub fn key_words(name: &str) -> Vec<String> {
    transliterate(name)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(fold_word)
        .filter(|w| !w.is_empty())
        .collect()
}

/// Lower-case Latin for Latin, Cyrillic and the Kazakh Latin alphabets (2018 and
/// 2021); other letters lower-cased, anything else a space.
pub fn transliterate(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.nfkc().flat_map(char::to_lowercase) {
        let latin = match c {
            'а' | 'ә' | 'ä' | 'á' | 'à' | 'â' => "a",
            'б' => "b",
            'в' => "v",
            'г' | 'ғ' | 'ğ' | 'ǵ' => "g",
            'д' => "d",
            'е' | 'é' | 'è' | 'ê' | 'ë' => "e",
            'ё' => "yo",
            'ж' => "zh",
            'з' => "z",
            'и' | 'і' | 'й' | 'ı' | 'í' | 'ì' | 'î' | 'ï' => "i",
            'к' | 'қ' => "k",
            'л' => "l",
            'м' => "m",
            'н' | 'ң' | 'ñ' | 'ń' => "n",
            'о' | 'ө' | 'ö' | 'ó' | 'ò' | 'ô' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' | 'ұ' | 'ү' | 'ü' | 'ú' | 'ù' | 'û' | 'ū' => "u",
            'ф' => "f",
            'х' => "kh",
            'һ' => "h",
            'ц' => "ts",
            'ч' | 'ç' => "ch",
            'ш' | 'ş' => "sh",
            'щ' => "shch",
            'ъ' | 'ь' => "",
            'ы' | 'ý' => "y",
            'э' => "e",
            'ю' => "yu",
            'я' => "ya",
            // Other scripts (Georgian, Armenian, CJK, ...) are kept as they are:
            // a name must never vanish or merge with another for want of a table.
            c if c.is_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => " ",
        };
        out.push_str(latin);
    }
    out
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u')
}

/// Folds transliteration variants within one word: `dzh`, `zh` and `j` are written
/// `j`, `q` is `k` and `kh` is `h`; a `y` that only marks iotation (word-initial
/// before a vowel, or between vowels) is dropped, and doubled letters are written
/// once.
fn fold_word(word: &str) -> String {
    let word = word
        .replace("dzh", "j")
        .replace("zh", "j")
        .replace("kh", "h")
        .replace('q', "k");
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    for (i, &c) in chars.iter().enumerate() {
        let next_is_vowel = chars.get(i + 1).is_some_and(|&n| is_vowel(n));
        let prev_is_vowel = i > 0 && is_vowel(chars[i - 1]);
        if c == 'y' && next_is_vowel && (i == 0 || prev_is_vowel) {
            continue;
        }
        if last == Some(c) {
            continue;
        }
        out.push(c);
        last = Some(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::name_key;

    #[test]
    fn the_three_spellings_of_one_person_share_a_key() {
        let key = name_key("Zhanibek Zhunusov");
        assert_eq!(key, name_key("ZHUNUSOV Zhanibek"));
        assert_eq!(key, name_key("Жунусов Жанибек"));
    }

    #[test]
    fn transliteration_variants_fold() {
        let pairs = [
            ("Yerlan Kaliyev", "Калиев Ерлан"),
            ("Assel Kassymova", "Касымова Асель"),
            ("Ilyas Issayev", "Исаев Ильяс"),
            ("Aigerim Seitkali", "Сейткали Айгерим"),
            ("Bauyrzhan Dzhaksybekov", "Джаксыбеков Бауыржан"),
            ("Lyazzat Yeleusizova", "Елеусизова Ляззат"),
            ("Gulnara Ualiyeva", "Уалиева Гульнара"),
            ("Aibek Aidaruly Sarsenbayev", "Сарсенбаев Айбек Айдарулы"),
        ];
        for (latin, cyrillic) in pairs {
            assert_eq!(name_key(latin), name_key(cyrillic), "{latin} / {cyrillic}");
        }
        assert_eq!(
            name_key("Dana Maratkyzy Khassenova"),
            name_key("Хасенова Дана Маратқызы")
        );
    }

    #[test]
    fn different_people_keep_different_keys() {
        assert_ne!(name_key("Aibek Sadykov"), name_key("Aidar Sadykov"));
        assert_ne!(name_key("Serik Zhunusov"), name_key("Zhanibek Zhunusov"));
        assert_ne!(
            name_key("Aibek Sadykov"),
            name_key("Aibek Aidaruly Sadykov")
        );
    }

    #[test]
    fn names_in_other_scripts_are_kept() {
        assert_eq!(name_key("ნინო ბერიძე"), "ბერიძე ნინო");
        assert_ne!(name_key("Олесь Гончар"), name_key("Олесь Гончаренко"));
        assert_eq!(name_key("Ўткир Ҳошимов"), "ўtkir ҳoshimov");
        assert_ne!(name_key("王伟"), name_key("李伟"));
    }

    #[test]
    fn punctuation_and_spacing_do_not_matter() {
        assert_eq!(
            name_key("  Sultanov,  Abaibek "),
            name_key("abaibek sultanov")
        );
        assert_eq!(name_key(""), "");
    }

    #[test]
    fn decomposed_letters_do_not_split_a_name() {
        // `й` as `и` + combining breve, `ё` as `е` + diaeresis, `Ә` as is.
        let nfd = "Сеи\u{306}ткали Айгерим";
        assert_eq!(name_key(nfd), name_key("Сейткали Айгерим"));
        assert_eq!(name_key(nfd).split(' ').count(), 2);
        assert_eq!(name_key("Pe\u{308}tr Ko\u{308}"), name_key("Pëtr Kö"));
    }

    #[test]
    fn kazakh_2021_latin_folds_to_the_same_keys() {
        let pairs = [
            ("Janibek Junusov", "Zhanibek Zhunusov"),
            ("Janibek Junusov", "Жунусов Жанибек"),
            ("Qairat Qaliev", "Kairat Kaliyev"),
            ("Muhtar Jaqsybekov", "Mukhtar Dzhaksybekov"),
            ("Erjan Ahmetov", "Ержан Ахметов"),
            ("Şarip Ūaliev", "Sharip Ualiyev"),
            ("Ǵalym Seıtqalı", "Galym Seitkali"),
        ];
        for (kazakh, other) in pairs {
            assert_eq!(name_key(kazakh), name_key(other), "{kazakh} / {other}");
        }
        assert_ne!(name_key("Janibek Junusov"), name_key("Janibek Jusupov"));
    }
}

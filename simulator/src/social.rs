//! Social posts about events, in English, French, German and Spanish.
//!
//! Volume both leads and follows demand. It leads through the seeded spikes of the
//! ground truth (a burst of posts, then more shoppers over the following hours) and
//! announcements; it follows through posts from buyers (proportional to recent
//! purchases), a burst when an event sells out, complaints when prices rise above list,
//! and live posts from the venue on the day. Texts are short templates with positive or
//! negative words, sometimes negated ("not happy", "pas content", "nicht gut",
//! "no me gusta"); author reach is heavy-tailed (Pareto).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sellout_ingest::records::{AnyRecord, Id, SocialRecord};
use sellout_streams::Timestamp;

use crate::catalog::{EventInfo, HOUR, MINUTE};
use crate::random;
use crate::sim::{Actor, Outbox};
use crate::truth::EventTruth;

/// Why a post is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostKind {
    /// Everyday chatter.
    Buzz,
    /// Part of a seeded viral burst.
    Spike,
    /// Reacting to an announcement.
    Announcement,
    /// A buyer showing off.
    Bought,
    /// The event sold out.
    SoldOut,
    /// Prices above list.
    Price,
    /// From the venue on the day.
    Live,
}

const KINDS: [PostKind; 7] = [
    PostKind::Buzz,
    PostKind::Spike,
    PostKind::Announcement,
    PostKind::Bought,
    PostKind::SoldOut,
    PostKind::Price,
    PostKind::Live,
];

/// The language codes posts are written in.
pub const LANGUAGES: [&str; 4] = ["en", "fr", "de", "es"];

/// Templates of one language: a topic sentence per [`PostKind`] (`{}` = the hashtag),
/// then a sentiment phrase.
struct Phrases {
    topics: [&'static [&'static str]; 7],
    positive: &'static [&'static str],
    negative: &'static [&'static str],
    /// Negated negative words: positive ("not bad at all").
    positive_negated: &'static [&'static str],
    /// Negated positive words: negative ("not happy").
    negative_negated: &'static [&'static str],
}

const PHRASES: [Phrases; 4] = [
    Phrases {
        topics: [
            &[
                "Who else is going to {}?",
                "Listening to {} all day.",
                "{} this winter!",
            ],
            &[
                "Everyone is talking about {} right now.",
                "This clip of {} is everywhere.",
            ],
            &[
                "Big news from {} today.",
                "Just saw the announcement for {}.",
            ],
            &["Got my tickets for {}!", "Tickets for {} booked."],
            &["{} sold out already.", "{} is completely sold out."],
            &[
                "Have you seen the ticket prices for {}?",
                "Prices for {} went up again.",
            ],
            &[
                "At {} right now.",
                "Queue for drinks at {}.",
                "Waiting for {} to start.",
            ],
        ],
        positive: &[
            "So happy!",
            "Can't wait!",
            "Amazing.",
            "Love it.",
            "Best night ever.",
        ],
        negative: &[
            "Terrible.",
            "What a disappointment.",
            "Awful.",
            "So annoying.",
        ],
        positive_negated: &["Not bad at all.", "Not disappointed.", "No complaints."],
        negative_negated: &["Not happy.", "Not worth it.", "Not good at all."],
    },
    Phrases {
        topics: [
            &[
                "Qui vient à {} ?",
                "J'écoute {} en boucle.",
                "{} cet hiver !",
            ],
            &[
                "Tout le monde parle de {}.",
                "Cette vidéo de {} est partout.",
            ],
            &[
                "Grosse annonce pour {} aujourd'hui.",
                "Je viens de voir l'annonce de {}.",
            ],
            &["J'ai mes billets pour {} !", "Places pour {} réservées."],
            &["{} déjà complet.", "{} affiche complet."],
            &[
                "Vous avez vu les prix pour {} ?",
                "Les prix de {} ont encore augmenté.",
            ],
            &[
                "Au concert {} en ce moment.",
                "La queue au bar pour {}.",
                "On attend {}.",
            ],
        ],
        positive: &["Trop content !", "Génial.", "J'adore.", "Trop hâte !"],
        negative: &["Nul.", "Quelle déception.", "C'est honteux.", "Horrible."],
        positive_negated: &["Pas mal du tout.", "Pas déçu.", "Pas mal."],
        negative_negated: &["Pas content.", "Pas terrible.", "Pas génial du tout."],
    },
    Phrases {
        topics: [
            &[
                "Wer kommt noch zu {}?",
                "Höre den ganzen Tag {}.",
                "{} diesen Winter!",
            ],
            &[
                "Alle reden gerade über {}.",
                "Dieses Video von {} ist überall.",
            ],
            &[
                "Große Neuigkeiten zu {} heute.",
                "Gerade die Ankündigung zu {} gesehen.",
            ],
            &["Tickets für {} gekauft!", "Karten für {} gesichert."],
            &["{} schon ausverkauft.", "{} ist komplett ausverkauft."],
            &[
                "Habt ihr die Ticketpreise für {} gesehen?",
                "Die Preise für {} sind schon wieder gestiegen.",
            ],
            &[
                "Gerade bei {}.",
                "Schlange an der Bar bei {}.",
                "Warten auf {}.",
            ],
        ],
        positive: &["Super!", "Freue mich riesig!", "Toll.", "Großartig."],
        negative: &["Schlecht.", "Enttäuschend.", "Furchtbar.", "Ärgerlich."],
        positive_negated: &["Nicht schlecht.", "Gar nicht übel.", "Nicht enttäuscht."],
        negative_negated: &["Nicht gut.", "Nicht zufrieden.", "Gar nicht toll."],
    },
    Phrases {
        topics: [
            &[
                "¿Quién más va a {}?",
                "Escuchando {} todo el día.",
                "¡{} este invierno!",
            ],
            &[
                "Todo el mundo habla de {}.",
                "Este vídeo de {} está en todas partes.",
            ],
            &["Gran anuncio de {} hoy.", "Acabo de ver el anuncio de {}."],
            &[
                "¡Ya tengo mis entradas para {}!",
                "Entradas para {} compradas.",
            ],
            &["{} ya está agotado.", "Entradas agotadas para {}."],
            &[
                "¿Habéis visto los precios de {}?",
                "Los precios de {} han vuelto a subir.",
            ],
            &[
                "En {} ahora mismo.",
                "Cola en la barra en {}.",
                "Esperando a {}.",
            ],
        ],
        positive: &["¡Qué ganas!", "Genial.", "Me encanta.", "Increíble."],
        negative: &["Horrible.", "Qué decepción.", "Fatal.", "Vergonzoso."],
        positive_negated: &["No está nada mal.", "No me decepciona.", "Nada mal."],
        negative_negated: &["No me gusta.", "No vale la pena.", "No estoy contento."],
    },
];

/// Sources, with their shares.
const SOURCES: [(&str, f64); 4] = [
    ("x", 0.4),
    ("instagram", 0.25),
    ("tiktok", 0.25),
    ("forum", 0.1),
];

/// One event's social state.
struct EventSocial {
    event_id: Id,
    hashtag: String,
    /// Index of the local language in [`LANGUAGES`].
    language: usize,
    hotness: f64,
    /// Purchases per minute, smoothed over about half an hour.
    purchases_ewma: f64,
    doors: Timestamp,
    end: Timestamp,
}

/// What the step needs to know about an event's sale and day.
pub(crate) struct EventPulse {
    /// Purchases in the minute just gone.
    pub purchases: u32,
    /// When the event sold out.
    pub sold_out_at: Option<Timestamp>,
    /// Tickets sold (attendees on the day).
    pub tickets: u64,
}

/// All social posting.
pub(crate) struct Social {
    rng: ChaCha8Rng,
    events: Vec<EventSocial>,
    scale: f64,
    source_cdf: Vec<f64>,
}

impl Social {
    pub(crate) fn new(
        seed: u64,
        scale: f64,
        infos: &[EventInfo],
        truth: &[EventTruth],
        times: &[(Timestamp, Timestamp)],
    ) -> Self {
        let events = infos
            .iter()
            .zip(truth)
            .zip(times)
            .map(|((info, t), &(doors, end))| EventSocial {
                event_id: Id::from(t.event_id.as_str()),
                hashtag: info.hashtag.clone(),
                language: LANGUAGES
                    .iter()
                    .position(|l| *l == info.language)
                    .unwrap_or(0),
                hotness: t.hotness,
                purchases_ewma: 0.0,
                doors,
                end,
            })
            .collect();
        Self {
            rng: random::stream(seed, random::streams::SOCIAL),
            events,
            scale,
            source_cdf: random::cdf(&SOURCES.map(|(_, w)| w)),
        }
    }

    /// Schedules the posts of the minute from `t` for event `e`.
    pub(crate) fn step(
        &mut self,
        e: usize,
        t: Timestamp,
        truth: &EventTruth,
        pulse: EventPulse,
        out: &mut Outbox,
    ) {
        let ev = &mut self.events[e];
        ev.purchases_ewma += (f64::from(pulse.purchases) - ev.purchases_ewma) / 30.0;
        if t > ev.end + 3 * HOUR {
            return;
        }
        let hour = t.div_euclid(HOUR).rem_euclid(24) as usize;
        let diurnal = truth.curve.diurnal.get(hour).copied().unwrap_or(1.0);
        let mid = t + MINUTE / 2;
        let sold_out = pulse
            .sold_out_at
            .filter(|&at| mid >= at)
            .map(|at| {
                15.0 * (0.3 + ev.hotness) * (-((mid - at) as f64) / (90.0 * MINUTE as f64)).exp()
            })
            .unwrap_or(0.0);
        let live = if (ev.doors..ev.end + HOUR).contains(&mid) {
            pulse.tickets as f64 * 0.0004
        } else {
            0.0
        };
        let rates = [
            self.scale * (0.02 + 0.3 * ev.hotness) * diurnal,
            self.scale * truth.spike_posts_rate(mid),
            self.scale * truth.announcement_posts_rate(mid),
            0.04 * ev.purchases_ewma,
            sold_out,
            0.0,
            live,
        ];
        let total: f64 = rates.iter().sum();
        let n = random::poisson(&mut self.rng, total);
        if n == 0 {
            return;
        }
        let cdf = random::cdf(&rates);
        for _ in 0..n {
            let kind = KINDS[random::pick_cdf(&cdf, random::unit(&mut self.rng))];
            let at = t + self.rng.random_range(0..MINUTE);
            out.schedule(
                at,
                Actor::Post {
                    event: e as u16,
                    kind,
                },
            );
        }
    }

    /// Writes one post of event `e`; `price_ratio` is the current price over list.
    pub(crate) fn post(
        &mut self,
        e: usize,
        kind: PostKind,
        now: Timestamp,
        price_ratio: f64,
        out: &mut Outbox,
    ) {
        let ev = &self.events[e];
        let rng = &mut self.rng;
        // Buzz turns to prices when they are well above list.
        let kind = if kind == PostKind::Buzz && price_ratio > 1.15 && random::unit(rng) < 0.5 {
            PostKind::Price
        } else {
            kind
        };
        let language = {
            let u = random::unit(rng);
            if u < 0.6 {
                ev.language
            } else {
                // The others: English more often when it isn't local.
                let others: Vec<usize> =
                    (0..LANGUAGES.len()).filter(|&l| l != ev.language).collect();
                if ev.language != 0 && u < 0.8 {
                    0
                } else {
                    others[rng.random_range(0..others.len())]
                }
            }
        };
        let positive_share = match kind {
            PostKind::Buzz => 0.75,
            PostKind::Spike => 0.85,
            PostKind::Announcement => 0.8,
            PostKind::Bought => 0.9,
            PostKind::SoldOut => 0.35,
            PostKind::Price => 0.1,
            PostKind::Live => 0.8,
        };
        let p = &PHRASES[language];
        let positive = random::unit(rng) < positive_share;
        // Happy posts about a sell-out come from those who got tickets in time.
        let topic_kind = if kind == PostKind::SoldOut && positive {
            PostKind::Bought
        } else {
            kind
        };
        let topics = p.topics[KINDS.iter().position(|k| *k == topic_kind).unwrap_or(0)];
        let topic = topics[rng.random_range(0..topics.len())];
        let negated = random::unit(rng) < 0.3;
        let phrases = match (positive, negated) {
            (true, false) => p.positive,
            (true, true) => p.positive_negated,
            (false, false) => p.negative,
            (false, true) => p.negative_negated,
        };
        let phrase = phrases[rng.random_range(0..phrases.len())];
        let text = format!("{} {}", topic.replace("{}", &ev.hashtag), phrase);
        let mut reach = random::pareto(rng, 20.0, 1.15);
        if kind == PostKind::Spike && random::unit(rng) < 0.2 {
            reach *= 50.0;
        }
        let source = SOURCES[random::pick_cdf(&self.source_cdf, random::unit(rng))].0;
        out.record(AnyRecord::Social(SocialRecord {
            source: Id::from(source),
            text,
            language: Id::from(LANGUAGES[language]),
            author_reach: reach.min(50_000_000.0) as u64,
            event_ids: vec![ev.event_id.clone()],
            time: now,
        }));
    }
}

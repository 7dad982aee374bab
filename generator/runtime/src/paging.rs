//! Following `nextPageToken` across the pages of list methods.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use crate::call::{Call, ResponseFuture};
use crate::error::{Error, Result};

/// A response page of a list method.
///
/// Generated crates implement it for every response type that carries a `nextPageToken`.
pub trait Page: crate::reader::FromJson {
    /// The type of the listed items.
    type Item;

    /// The token of the next page; `None` or empty on the last page.
    fn next_page_token(&self) -> Option<&str>;

    /// Moves the page's items out, leaving the rest of the page (sync tokens, totals) in
    /// place.
    fn take_items(&mut self) -> Vec<Self::Item>;
}

/// The pages of a list call, fetched one at a time as they are asked for.
///
/// The first request is the call as built; each later one repeats it with `pageToken` set
/// to the previous page's `nextPageToken`, until a page has none. A server that hands back
/// a token it gave before (which would page forever) ends the stream with
/// [`Error::Protocol`]. After an error the stream ends. Use [`try_next`](PageStream::try_next) without any import, or the
/// `futures_core::Stream` implementation with stream combinators.
///
/// Nothing else bounds the number of pages: a server that hands out a fresh token with
/// every page keeps the stream going for as long as it is read. Each request has the
/// call's deadline, not the stream as a whole; a caller that collects everything and
/// wants a bound sets one (`StreamExt::take` of the `futures` crate, or a count of its own).
pub struct PageStream<P> {
    template: Call,
    /// The request to send next; `None` once the last page was seen or after an error.
    next: Option<Call>,
    in_flight: Option<ResponseFuture<P>>,
    /// Hashes of the page tokens followed so far: a token seen again means a cycle. Hashes,
    /// not the tokens, so that a long listing keeps 8 bytes per page; the keys are random
    /// per process, so a server cannot make two tokens collide on purpose.
    seen_tokens: HashSet<u64>,
    token_hasher: std::collections::hash_map::RandomState,
}

// No field is pinned structurally: the in-flight future is boxed.
impl<P> Unpin for PageStream<P> {}

impl<P> fmt::Debug for PageStream<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageStream")
            .field("method", &self.template.method_info().id())
            .field("finished", &(self.next.is_none() && self.in_flight.is_none()))
            .finish_non_exhaustive()
    }
}

impl<P: Page + Send + 'static> PageStream<P> {
    /// Pages of `call`, starting with the page it asks for.
    pub fn new(call: Call) -> Self {
        PageStream {
            next: Some(call.clone()),
            template: call,
            in_flight: None,
            seen_tokens: HashSet::new(),
            token_hasher: Default::default(),
        }
    }

    /// The next page, or `None` after the last one.
    pub async fn try_next(&mut self) -> Result<Option<P>> {
        std::future::poll_fn(|cx| self.poll_page(cx)).await.transpose()
    }

    fn poll_page(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<P>>> {
        loop {
            if let Some(fut) = self.in_flight.as_mut() {
                let result = ready!(Pin::new(fut).poll(cx));
                self.in_flight = None;
                return Poll::Ready(Some(result.and_then(|page| self.advance(page))));
            }
            match self.next.take() {
                Some(call) => self.in_flight = Some(call.send::<P>()),
                None => return Poll::Ready(None),
            }
        }
    }

    /// Prepares the request for the page after `page`.
    fn advance(&mut self, page: P) -> Result<P> {
        let token = page.next_page_token().filter(|t| !t.is_empty());
        if let Some(token) = token {
            // A server that hands back a token it gave before (the last one, or one of a
            // cycle) would page forever.
            if !self.seen_tokens.insert(self.token_hasher.hash_one(token)) {
                let shown: String = token.chars().take(64).collect();
                let more = if shown.len() < token.len() { "…" } else { "" };
                return Err(Error::Protocol(format!("the server repeated page token {shown:?}{more}")));
            }
            let mut call = self.template.clone();
            call.query("pageToken", token);
            self.next = Some(call);
        }
        Ok(page)
    }
}

impl<P: Page + Send + 'static> Stream for PageStream<P> {
    type Item = Result<P>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_page(cx)
    }
}

/// The items of a list call, across all its pages.
///
/// Pages are fetched as the items are consumed. [`last_page`](ItemStream::last_page) keeps
/// the most recent page with its items taken, which is where fields such as People's
/// `nextSyncToken` arrive.
///
/// A page may legitimately hold no items and still point to a next one (a filtered scan
/// that found nothing in one page's range). Asking for one item goes through at most
/// [`MAX_EMPTY_PAGES`] such pages in a row; a server that hands out fresh tokens for empty
/// pages without end then ends the stream with [`Error::Protocol`] instead of keeping the
/// caller waiting for ever.
pub struct ItemStream<P: Page> {
    pages: PageStream<P>,
    items: std::vec::IntoIter<P::Item>,
    last: Option<P>,
    /// Pages without items fetched in a row, while looking for the next item.
    empty_pages: u32,
}

/// How many pages without items in a row [`ItemStream`] follows before it gives up. An
/// assumption, not a documented limit of any API: far more than the empty pages a filtered
/// listing returns in practice, few enough that a server paging in circles with fresh tokens
/// is found out in seconds on a fast link.
pub const MAX_EMPTY_PAGES: u32 = 1000;

// No field is pinned structurally.
impl<P: Page> Unpin for ItemStream<P> {}

impl<P: Page> fmt::Debug for ItemStream<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream")
            .field("pages", &self.pages)
            .field("buffered", &self.items.len())
            .finish_non_exhaustive()
    }
}

impl<P: Page + Send + 'static> ItemStream<P> {
    /// Items of `call`, starting with the page it asks for.
    pub fn new(call: Call) -> Self {
        ItemStream { pages: PageStream::new(call), items: Vec::new().into_iter(), last: None, empty_pages: 0 }
    }

    /// The next item, or `None` after the last one.
    pub async fn try_next(&mut self) -> Result<Option<P::Item>> {
        std::future::poll_fn(|cx| self.poll_item(cx)).await.transpose()
    }

    /// The most recent page, with its items taken out.
    pub fn last_page(&self) -> Option<&P> {
        self.last.as_ref()
    }

    /// Turns the stream into its most recent page, with its items taken out.
    pub fn into_last_page(self) -> Option<P> {
        self.last
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<P::Item>>> {
        loop {
            if let Some(item) = self.items.next() {
                self.empty_pages = 0;
                return Poll::Ready(Some(Ok(item)));
            }
            match ready!(self.pages.poll_page(cx)) {
                Some(Ok(mut page)) => {
                    self.items = page.take_items().into_iter();
                    self.last = Some(page);
                    if self.items.len() == 0 {
                        self.empty_pages += 1;
                        if self.empty_pages >= MAX_EMPTY_PAGES && self.pages.next.is_some() {
                            self.pages.next = None;
                            return Poll::Ready(Some(Err(Error::Protocol(format!(
                                "the server sent {MAX_EMPTY_PAGES} pages without items in a row, each with a new page token"
                            )))));
                        }
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl<P: Page + Send + 'static> Stream for ItemStream<P> {
    type Item = Result<P::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_item(cx)
    }
}

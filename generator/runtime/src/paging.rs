//! Following `nextPageToken` across the pages of list methods.

use std::fmt;
use std::future::Future;
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
/// to the previous page's `nextPageToken`, until a page has none. After an error the stream
/// ends. Use [`try_next`](PageStream::try_next) without any import, or the
/// `futures_core::Stream` implementation with stream combinators.
pub struct PageStream<P> {
    template: Call,
    /// The request to send next; `None` once the last page was seen or after an error.
    next: Option<Call>,
    in_flight: Option<ResponseFuture<P>>,
    last_token: Option<String>,
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
        PageStream { next: Some(call.clone()), template: call, in_flight: None, last_token: None }
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
            // A server that hands back the token it was given would page forever.
            if self.last_token.as_deref() == Some(token) {
                return Err(Error::Protocol(format!("the server repeated page token {token:?}")));
            }
            let mut call = self.template.clone();
            call.query("pageToken", token);
            self.last_token = Some(token.to_owned());
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
pub struct ItemStream<P: Page> {
    pages: PageStream<P>,
    items: std::vec::IntoIter<P::Item>,
    last: Option<P>,
}

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
        ItemStream { pages: PageStream::new(call), items: Vec::new().into_iter(), last: None }
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
                return Poll::Ready(Some(Ok(item)));
            }
            match ready!(self.pages.poll_page(cx)) {
                Some(Ok(mut page)) => {
                    self.items = page.take_items().into_iter();
                    self.last = Some(page);
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

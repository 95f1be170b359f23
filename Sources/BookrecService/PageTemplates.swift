/// The pages' Mustache templates. `{{…}}` escapes HTML; every page extends `layout`.
enum PageTemplates {
    static let all: [String: String] = ["layout": layout, "card": card, "home": home, "reader": reader, "book": book, "error": error]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{$title}}bookrec{{/title}}</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fafaf7; line-height: 1.4; }
        header, main { max-width: 52rem; margin: 0 auto; padding: 0.75rem 1rem; }
        header { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; align-items: center; border-bottom: 1px solid #ddd; }
        header a.home { font-weight: 700; font-size: 1.2rem; color: inherit; text-decoration: none; }
        form { display: flex; gap: 0.4rem; align-items: center; }
        input { width: 7rem; padding: 0.3rem; font: inherit; }
        button { padding: 0.3rem 0.7rem; font: inherit; }
        a { color: #0b57d0; }
        a:focus, input:focus, button:focus { outline: 3px solid #f2a900; outline-offset: 2px; }
        ol.books { list-style: none; padding: 0; }
        ol.books li { display: flex; gap: 0.8rem; padding: 0.6rem 0; border-bottom: 1px solid #eee; }
        ol.books img { width: 64px; height: 96px; object-fit: cover; flex: none; background: #eee; }
        .rank { font-weight: 700; min-width: 1.8rem; }
        .meta, .why { color: #555; font-size: 0.9rem; }
        .book { display: flex; flex-wrap: wrap; gap: 1rem; }
        .book img { width: 128px; height: 192px; object-fit: cover; background: #eee; }
        .book .details { flex: 1 1 16rem; }
        </style>
        </head>
        <body>
        <header>
        <a class="home" href="/">bookrec</a>
        <form action="/readers" method="get" role="search"><label for="reader-id">Reader</label>
        <input id="reader-id" name="id" inputmode="numeric" required><button type="submit">Show</button></form>
        <form action="/books" method="get" role="search"><label for="book-id">Book</label>
        <input id="book-id" name="id" inputmode="numeric" required><button type="submit">Show</button></form>
        </header>
        <main>
        {{$main}}{{/main}}
        </main>
        </body>
        </html>
        """

    /// One book of a list, inside `<ol class="books">`.
    static let card = """
        <li><span class="rank">{{rank}}.</span>
        <a href="/books/{{bookID}}"><img src="{{coverURL}}" alt="{{coverAlt}}" width="64" height="96"></a>
        <div><a href="/books/{{bookID}}" class="title">{{title}}</a>
        <div class="meta">{{authors}} · {{score}}</div>
        {{#closeTo}}<div class="why">Close to <a href="/books/{{bookID}}">{{title}}</a>, which this reader rated highly</div>{{/closeTo}}
        </div></li>
        """

    static let home = """
        {{<layout}}
        {{$main}}
        <h1>Book recommendations</h1>
        <p>Look up a reader or a book above. Generation {{generation}} is active.</p>
        <h2>Some readers</h2>
        <ul>{{#exampleReaders}}<li><a href="/readers/{{.}}">Reader {{.}}</a></li>{{/exampleReaders}}</ul>
        {{/main}}
        {{/layout}}
        """

    static let reader = """
        {{<layout}}
        {{$title}}Reader {{userID}} · bookrec{{/title}}
        {{$main}}
        <h1>Top {{count}} for reader {{userID}}</h1>
        <p class="meta">Generation {{generation}}; a score (0 to 1) ranks the books for this reader: higher is a closer match.</p>
        <ol class="books">{{#books}}{{> card}}{{/books}}</ol>
        {{/main}}
        {{/layout}}
        """

    static let book = """
        {{<layout}}
        {{$title}}{{book.title}} · bookrec{{/title}}
        {{$main}}
        {{#book}}
        <div class="book"><img src="{{coverURL}}" alt="{{coverAlt}}" width="128" height="192">
        <div class="details"><h1>{{title}}</h1><p>{{authors}}{{#year}} · {{.}}{{/year}}</p>
        {{/book}}
        <p>{{description}}</p>
        <p class="meta">{{tags}}</p></div></div>
        <h2>Similar books</h2>
        {{^hasSimilar}}<p>This book has no vector in generation {{generation}} yet.</p>{{/hasSimilar}}
        {{#hasSimilar}}<ol class="books">{{#similar}}{{> card}}{{/similar}}</ol>{{/hasSimilar}}
        {{/main}}
        {{/layout}}
        """

    static let error = """
        {{<layout}}
        {{$title}}{{title}} · bookrec{{/title}}
        {{$main}}
        <h1>{{title}}</h1>
        <p>{{message}}</p>
        <p><a href="/">Back to the start page</a></p>
        {{/main}}
        {{/layout}}
        """

    /// The image shown for a book without a cover.
    static let placeholderCover = """
        <svg xmlns="http://www.w3.org/2000/svg" width="128" height="192" viewBox="0 0 128 192">
        <rect width="128" height="192" fill="#e4e2dc"/><path d="M40 60h48v72H40z" fill="none" stroke="#9a968c" stroke-width="4"/>
        <path d="M52 80h24M52 96h24M52 112h16" stroke="#9a968c" stroke-width="4"/></svg>
        """
}

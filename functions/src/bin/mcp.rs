//! `POST /mcp`: the route `Route::Mcp` of `gatehouse::routes` (the MCP endpoint; README, "OAuth
//! access tokens and MCP").

fn main() -> Result<(), gatehouse::lambda_http::Error> {
    gatehouse::routes::lambda_main(const { gatehouse::routes::Route::Mcp.lambda() })
}
